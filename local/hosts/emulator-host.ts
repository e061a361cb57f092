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
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { applySqsCharacterRule } from './sqs-characters';
import type { EmulatedService, EmulatorHostData, EmulatorPorts, EmulatorRequest, EmulatorResponse, TableFaultMode } from './protocol';

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

let dynamodb: FaultableListener | undefined;
let sqs: FaultableListener | undefined;
let sqsStore: FauxqsStore | undefined;

async function start(): Promise<EmulatorPorts> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require(data.dynalitePath) as (options: Record<string, unknown>) => http.Server;
  const dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynaliteHandler = dynaliteServer.listeners('request')[0] as http.RequestListener;
  dynamodb = new FaultableListener((req, res) => (tableFaults.size === 0 ? dynaliteHandler(req, res) : faultTables(req, res, dynaliteHandler)));

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
  const listener = new FaultableListener((req, res) => {
    if (req.headers['x-amz-target'] === 'AmazonSQS.ReceiveMessage') guardReceive(listener, req, res);
    app.server.emit('request', req, res);
  });
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
 * With table faults set, reads the request, answers it with the table's fault when it names a
 * faulted table (TableName, or a key of RequestItems for batch calls), else hands it to dynalite
 * as it came.
 */
function faultTables(req: http.IncomingMessage, res: http.ServerResponse, next: http.RequestListener): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let tables: string[] = [];
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { TableName?: unknown; RequestItems?: Record<string, unknown>; TransactItems?: unknown[] };
      tables = [...(typeof parsed.TableName === 'string' ? [parsed.TableName] : []), ...Object.keys(parsed.RequestItems ?? {})];
    } catch {
      tables = [];
    }
    const mode = tables.map((t) => tableFaults.get(t)).find((m) => m !== undefined);
    if (mode === 'throttle') {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded (local fault)' }));
      return;
    }
    if (mode === 'unavailable') {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error (local fault)' }));
      return;
    }
    const replay = Object.assign(Readable.from([body]), { headers: req.headers, rawHeaders: req.rawHeaders, method: req.method, url: req.url, httpVersion: req.httpVersion, socket: req.socket, connection: req.socket });
    next(replay as unknown as http.IncomingMessage, res);
  });
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
