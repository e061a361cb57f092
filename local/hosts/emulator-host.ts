/**
 * Worker thread that hosts the AWS API emulators: dynalite (DynamoDB) and fauxqs (SQS).
 *
 * Each emulator keeps its state in an object of its own, and is reached through a listener that
 * this file owns. Taking a service "down" closes only that listener and cuts its connections, so
 * clients see connection errors while tables, queues and messages survive; "up" listens again on
 * the same port. (dynalite's own close() would drop its in-memory database, and fauxqs has no
 * restart, hence the separate listener.)
 *
 * fauxqs is an ES module with only an `import` export, so it is loaded here with import() by file
 * URL: jest's CommonJS module registry cannot load it in the main thread.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { applySqsCharacterRule } from './sqs-characters';
import { ApiStats, type Item, type TableShape, needsResponse, operationOf } from './api-stats';
import { AccessControl, type IamService } from '../iam';
import type { EmulatedService, EmulatorHostData, EmulatorNotice, EmulatorPorts, EmulatorRequest, EmulatorResponse, TableFaultMode } from './protocol';

const data = workerData as EmulatorHostData;

/** An HTTP listener that can be cut and restored on the same port. */
class FaultableListener {
  private server: http.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  down = false;

  constructor(private readonly handler: http.RequestListener) {}

  async listen(port: number): Promise<number> {
    const server = http.createServer((req, res) => this.handler(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    this.down = false;
    return this.port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.down = true;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    // The OS may briefly hold the port; retry a few times rather than move to another port.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.listen(this.port);
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** The parts of fauxqs's queue and store this host touches (fauxqs 1.9.2 internals). */
interface FauxqsQueue {
  pollWaiters: Array<{ resolve: () => void; timer: ReturnType<typeof setTimeout> }>;
  inflightMessages: Map<string, unknown>;
  changeVisibility(receiptHandle: string, seconds: number): void;
  stopPollTimerIfEmpty(): void;
}
interface FauxqsStore {
  host: string;
  region?: string;
  queues: Map<string, FauxqsQueue>;
}
interface FastifyLike {
  ready(): Promise<unknown>;
  close(): Promise<unknown>;
  server: http.Server;
}

/** What the functions ask of DynamoDB and SQS, counted as AWS bills it (`npm run cost`). */
const stats = new ApiStats();

/**
 * Counts a request when its answer ends: bytes both ways, and (only for the operations whose
 * answer matters to the bill, and DynamoDB errors) the parsed answer.
 */
function countOnEnd(service: 'dynamodb' | 'sqs', req: http.IncomingMessage, res: http.ServerResponse, requestBytes: number, request: unknown): void {
  const operation = operationOf(req.headers['x-amz-target']);
  const keep = needsResponse(service, operation);
  const chunks: Buffer[] = [];
  let responseBytes = 0;
  const take = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
    responseBytes += buffer.length;
    if (keep || service === 'dynamodb') chunks.push(buffer);
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
  (res as { write: unknown }).write = (...args: unknown[]) => {
    take(args[0], args[1]);
    return write(...args);
  };
  (res as { end: unknown }).end = (...args: unknown[]) => {
    take(args[0], args[1]);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    let response: unknown;
    if (keep || !ok) {
      try {
        response = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        response = undefined;
      }
    }
    stats.countRequest({ service, operation, status: res.statusCode, requestBytes, responseBytes, request, response });
    return end(...args);
  };
}

/**
 * dynalite applies every item write (PutItem, UpdateItem, DeleteItem, each item of a
 * BatchWriteItem) through `db.updateIndexes(store, table, before, after, cb)` with the item before
 * and after: the one place that sees both, so the counter hooks in there (dynalite 4 internals).
 */
function countItemWrites(dynalitePath: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const db = require(path.join(path.dirname(dynalitePath), 'db')) as { updateIndexes: (...args: unknown[]) => unknown };
  const updateIndexes = db.updateIndexes;
  db.updateIndexes = function (this: unknown, ...args: unknown[]) {
    try {
      stats.countItemWrite(args[1] as TableShape, (args[2] ?? undefined) as Item | undefined, (args[3] ?? undefined) as Item | undefined);
    } catch {
      // counting must never break a write
    }
    return updateIndexes.apply(this, args);
  };
}

let dynamodb: FaultableListener | undefined;
let sqs: FaultableListener | undefined;
let sqsStore: FauxqsStore | undefined;

async function start(): Promise<EmulatorPorts> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require(data.dynalitePath) as (options: Record<string, unknown>) => http.Server;
  const dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynaliteHandler = dynaliteServer.listeners('request')[0] as http.RequestListener;
  countItemWrites(data.dynalitePath);
  dynamodb = new FaultableListener((req, res) => handleDynamoDb(req, res, dynaliteHandler));

  const dist = path.join(data.fauxqsDir, 'dist');
  const load = (file: string) => import(pathToFileURL(path.join(dist, file)).href);
  const [{ buildApp }, { SqsStore }, { SnsStore }, { S3Store }, sqsTypes, { SqsRouter }, { SqsError }] = await Promise.all([
    load('app.js'),
    load('sqs/sqsStore.js'),
    load('sns/snsStore.js'),
    load('s3/s3Store.js'),
    load('sqs/sqsTypes.js'),
    load('sqs/sqsRouter.js'),
    load('common/errors.js'),
  ]);
  // Before buildApp: its router registers the handlers this wraps.
  applySqsCharacterRule({ bodyCheck: sqsTypes.INVALID_MESSAGE_BODY_CHAR, batchEntryId: sqsTypes.VALID_BATCH_ENTRY_ID, router: SqsRouter, SqsError });
  const store = new SqsStore() as FauxqsStore;
  // An empty host makes fauxqs build queue URLs from the request's Host header, so queue URLs are
  // http://127.0.0.1:<port>/000000000000/<name>: resolvable by any client, unlike *.localhost.
  store.host = '';
  store.region = data.region;
  sqsStore = store;
  const app = buildApp({ logger: false, defaultRegion: data.region, stores: { sqsStore: store, snsStore: new SnsStore(), s3Store: new S3Store() } }) as FastifyLike;
  await app.ready();
  // The body is read first (IAM needs the QueueUrl), then replayed to fastify as it came.
  const listener = new FaultableListener((req, res) =>
    readBody(req, (body) => {
      countOnEnd('sqs', req, res, Number(req.headers['content-length']) || 0, undefined);
      if (refused(req, res, 'sqs', body)) return;
      if (req.headers['x-amz-target'] === 'AmazonSQS.ReceiveMessage') guardReceive(listener, req, res);
      app.server.emit('request', replayOf(req, body), res);
    }),
  );
  sqs = listener;
  return { dynamodb: await dynamodb.listen(0), sqs: await sqs.listen(0) };
}

/**
 * A ReceiveMessage answered while SQS is "down" never reaches its caller; left alone, its messages
 * would stay invisible for the queue's whole visibility timeout. Make them visible again, as if
 * the receive had never happened (their receive count keeps the increment).
 */
function guardReceive(listener: FaultableListener, req: http.IncomingMessage, res: http.ServerResponse): void {
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
  (res as { end: unknown }).end = (...args: unknown[]) => {
    if (listener.down || req.socket.destroyed) {
      const chunk = args[0];
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      try {
        const body = JSON.parse(text) as { Messages?: Array<{ ReceiptHandle?: string }> };
        for (const m of body.Messages ?? []) if (m.ReceiptHandle) releaseReceipt(m.ReceiptHandle);
      } catch {
        // not a receive result (an error): nothing was taken from the queue
      }
    }
    return end(...args);
  };
}

function releaseReceipt(receiptHandle: string): void {
  for (const queue of sqsStore?.queues.values() ?? []) {
    if (queue.inflightMessages.has(receiptHandle)) queue.changeVisibility(receiptHandle, 0);
  }
}

/** Long polls waiting inside fauxqs would otherwise wake up later and take messages for nobody. */
function dropPendingLongPolls(): void {
  for (const queue of sqsStore?.queues.values() ?? []) {
    for (const waiter of queue.pollWaiters) clearTimeout(waiter.timer);
    queue.pollWaiters = [];
    queue.stopPollTimerIfEmpty();
  }
}

/** Tables that fail on purpose (tests: "DynamoDB down for the delivery log only"). */
const tableFaults = new Map<string, TableFaultMode>();

/**
 * Reads the request (the counter needs its tables and ConsistentRead), answers it with the
 * table's fault when it names a faulted table (TableName, or a key of RequestItems for batch
 * calls), else hands it to dynalite as it came.
 */
function handleDynamoDb(req: http.IncomingMessage, res: http.ServerResponse, next: http.RequestListener): void {
  readBody(req, (body) => {
    let parsed: { TableName?: unknown; RequestItems?: Record<string, unknown> } | undefined;
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    countOnEnd('dynamodb', req, res, body.length, parsed);
    // IAM first: AWS authorizes a request before it looks at the table.
    if (refused(req, res, 'dynamodb', body, parsed)) return;
    const tables = [...(typeof parsed?.TableName === 'string' ? [parsed.TableName] : []), ...Object.keys(parsed?.RequestItems ?? {})];
    const mode = tables.map((t) => tableFaults.get(t)).find((m) => m !== undefined);
    if (mode === 'throttle') {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded (local fault)' }));
      return;
    }
    if (mode === 'unavailable') {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error (local fault)' }));
      return;
    }
    next(replayOf(req, body), res);
  });
}

function readBody(req: http.IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(Buffer.concat(chunks)));
}

/** The request again, its body already read: what dynalite and fastify read instead of the socket. */
function replayOf(req: http.IncomingMessage, body: Buffer): http.IncomingMessage {
  const replay = Object.assign(Readable.from([body], { objectMode: false }), { headers: req.headers, rawHeaders: req.rawHeaders, method: req.method, url: req.url, httpVersion: req.httpVersion, socket: req.socket, connection: req.socket });
  return replay as unknown as http.IncomingMessage;
}

/** The functions' roles, once the runtime has sent them (iam.ts); until then nothing is checked. */
let access: AccessControl | undefined;

/** The error AWS answers a denied call with, per service (SQS's JSON protocol keeps its query error code). */
const ACCESS_DENIED: Record<'dynamodb' | 'sqs', { status: number; type: string; headers: Record<string, string> }> = {
  dynamodb: { status: 400, type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', headers: {} },
  sqs: { status: 403, type: 'com.amazon.coral.service#AccessDeniedException', headers: { 'x-amzn-query-error': 'AccessDenied;Sender' } },
};

/**
 * Checks a function's request against its role; a denied one is answered as AWS does, and reported
 * to the runtime (its log). Requests of anyone else (CLI, tests, pollers) pass.
 */
function refused(req: http.IncomingMessage, res: http.ServerResponse, service: 'dynamodb' | 'sqs', body: Buffer, alreadyParsed?: unknown): boolean {
  if (!access || !access.identityOf(req.headers.authorization)) return false;
  const target = req.headers['x-amz-target'];
  // SQS's query protocol (form-encoded, Action=…, XML answers): older SDKs still speak it.
  const query = service === 'sqs' && target === undefined ? new URLSearchParams(body.toString('utf8')) : undefined;
  const operation = query ? (query.get('Action') ?? '') : String(target ?? '').slice(String(target ?? '').indexOf('.') + 1);
  let parsed: Record<string, unknown> = {};
  if (query) {
    parsed = Object.fromEntries(['QueueUrl', 'QueueName'].flatMap((k) => (query.has(k) ? [[k, query.get(k)]] : [])));
  } else {
    // The DynamoDB handler has parsed the body already (undefined when it is not JSON).
    let value: unknown = alreadyParsed;
    if (service === 'sqs') {
      try {
        value = JSON.parse(body.toString('utf8') || '{}') as unknown;
      } catch {
        // a malformed body: the emulator answers it; IAM judges what is named (nothing: Resource '*')
      }
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  }
  const denial = access.check(req.headers.authorization, service satisfies IamService, operation, parsed);
  if (!denial) return false;
  parentPort!.postMessage({ notice: 'access-denied', denial } satisfies EmulatorNotice);
  const requestId = randomUUID();
  const { status, type, headers } = ACCESS_DENIED[service];
  const [contentType, text] = query
    ? ['text/xml', `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${escapeXml(denial.message)}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`]
    : ['application/x-amz-json-1.0', JSON.stringify({ __type: type, message: denial.message })];
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': requestId, ...(query ? {} : headers) }).end(text);
  return true;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function listenerOf(service: EmulatedService): FaultableListener {
  const listener = service === 'dynamodb' ? dynamodb : sqs;
  if (!listener) throw new Error('emulators are not started');
  return listener;
}

async function handle(request: EmulatorRequest): Promise<unknown> {
  switch (request.op) {
    case 'start':
      return start();
    case 'down':
      if (request.service === 'sqs') dropPendingLongPolls();
      await listenerOf(request.service).cut();
      return undefined;
    case 'up':
      await listenerOf(request.service).restore();
      return undefined;
    case 'table-fault':
      if (request.mode === null) tableFaults.delete(request.table);
      else tableFaults.set(request.table, request.mode);
      return undefined;
    case 'stats':
      return stats.snapshot();
    case 'stats-reset':
      stats.reset();
      return undefined;
    case 'iam':
      access = new AccessControl(request.policies);
      return undefined;
    case 'stop':
      dropPendingLongPolls();
      await Promise.all([dynamodb?.cut(), sqs?.cut()]);
      return undefined;
  }
}

parentPort!.on('message', (request: EmulatorRequest) => {
  handle(request).then(
    (result) => parentPort!.postMessage({ id: request.id, ok: true, result } satisfies EmulatorResponse),
    (error: unknown) => parentPort!.postMessage({ id: request.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies EmulatorResponse),
  );
});
