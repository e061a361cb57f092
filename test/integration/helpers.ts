/**
 * What the integration tests share: a running local runtime with the clients producers, admins
 * and operators use (AWS SDK EventBridge, DynamoDB DocumentClient, SQS), and real HTTP receivers
 * on 127.0.0.1 whose behaviour each test scripts.
 */
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { type EventName, entityKeyOf } from '../../lambdas/core/catalog';
import { newSecret, newSubscriptionId } from '../../lambdas/core/subscriptions';
import { expectNoAccessDenials } from '../cli/helpers';
import { parseFunctionLine } from '../../local/logs';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../local/runtime';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const SOURCE = 'returns.cloud';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface Harness {
  readonly runtime: LocalRuntime;
  readonly events: EventBridgeClient;
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** Lines the runtime printed (one per delivery attempt, warnings). */
  readonly logs: string[];
  stop(): Promise<void>;
}

/**
 * `expectAccessDenied`: the test provokes IAM denials on purpose. Otherwise any call a function made
 * outside its role (runtime.accessDenials) fails the file when the harness stops: a grant missing in
 * lib/ shows up here, not on AWS.
 */
export async function startHarness(harnessOptions: LocalRuntimeOptions & { expectAccessDenied?: boolean } = {}): Promise<Harness> {
  const { expectAccessDenied = false, ...options } = harnessOptions;
  const logs: string[] = [];
  const runtime = await startLocalRuntime({ stateFile: false, log: (line) => logs.push(line), ...options });
  const events = new EventBridgeClient({ endpoint: runtime.endpoints.eventbridge, region: runtime.region, credentials });
  const dynamodb = new DynamoDBClient({ endpoint: runtime.endpoints.dynamodb, region: runtime.region, credentials });
  const db = DynamoDBDocumentClient.from(dynamodb);
  const sqs = new SQSClient({ endpoint: runtime.endpoints.sqs, region: runtime.region, credentials });
  return {
    runtime,
    events,
    db,
    sqs,
    logs,
    async stop() {
      events.destroy();
      dynamodb.destroy();
      sqs.destroy();
      await runtime.stop();
      if (!expectAccessDenied) expectNoAccessDenials(runtime);
    },
  };
}

// ---- subscriptions (docs/architecture.md §3), written as an admin backend would ----

export interface SubscriptionItem {
  tenantId: string;
  subscriptionId: string;
  url: string;
  events: string[];
  statusFilter?: string[];
  secret: string;
  state: 'active' | 'paused' | 'disabled';
  disabledReason?: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

export async function subscribe(
  h: Harness,
  fields: { tenantId: string; url: string; events?: string[]; statusFilter?: string[]; state?: SubscriptionItem['state'] },
): Promise<SubscriptionItem> {
  const now = new Date().toISOString();
  const item: SubscriptionItem = {
    tenantId: fields.tenantId,
    subscriptionId: newSubscriptionId(),
    url: fields.url,
    events: fields.events ?? ['*'],
    ...(fields.statusFilter ? { statusFilter: fields.statusFilter } : {}),
    secret: newSecret(32),
    state: fields.state ?? 'active',
    createdAt: now,
    updatedAt: now,
  };
  await h.db.send(new PutCommand({ TableName: h.runtime.outputs.SubscriptionsTableName, Item: item }));
  return item;
}

export async function getSubscription(h: Harness, tenantId: string, subscriptionId: string): Promise<Record<string, unknown> | undefined> {
  const out = await h.db.send(new GetCommand({ TableName: h.runtime.outputs.SubscriptionsTableName, Key: { tenantId, subscriptionId }, ConsistentRead: true }));
  return out.Item;
}

// ---- events (docs/architecture.md §1), put as producers do ----

export interface StatusChangeInput {
  event: EventName;
  tenantId: string;
  oldStatus: string;
  newStatus: string;
  uuid: string;
  number?: string | null;
  externalId?: string | null;
}

export function detailOf(change: StatusChangeInput): Record<string, unknown> {
  return {
    tenantId: change.tenantId,
    oldStatus: change.oldStatus,
    newStatus: change.newStatus,
    [entityKeyOf(change.event)]: { number: change.number ?? null, uuid: change.uuid, externalId: change.externalId ?? null },
  };
}

/** The webhook body the contract promises for a change (docs/architecture.md §2), byte for byte. */
export function expectedBody(change: StatusChangeInput): string {
  return (
    `{"event":${JSON.stringify(change.event)},"oldStatus":${JSON.stringify(change.oldStatus)},"newStatus":${JSON.stringify(change.newStatus)},` +
    `${JSON.stringify(entityKeyOf(change.event))}:{"number":${JSON.stringify(change.number ?? null)},"uuid":${JSON.stringify(change.uuid)},"externalId":${JSON.stringify(change.externalId ?? null)}}}`
  );
}

export function entryFor(h: Harness, change: StatusChangeInput): PutEventsRequestEntry {
  return { EventBusName: h.runtime.outputs.EventBusName, Source: SOURCE, DetailType: change.event, Detail: JSON.stringify(detailOf(change)) };
}

/** Puts entries in calls of 10; returns the per-entry results in order. */
export async function putEntries(h: Harness, entries: PutEventsRequestEntry[]): Promise<PutEventsResultEntry[]> {
  const results: PutEventsResultEntry[] = [];
  for (let i = 0; i < entries.length; i += 10) {
    const out = await h.events.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
    results.push(...(out.Entries ?? []));
  }
  return results;
}

/** Puts status changes and insists that each was accepted; returns their event ids. */
export async function putChanges(h: Harness, changes: StatusChangeInput[]): Promise<string[]> {
  const results = await putEntries(h, changes.map((c) => entryFor(h, c)));
  return results.map((r, i) => {
    if (!r.EventId) throw new Error(`event ${i} was refused: ${r.ErrorCode}: ${r.ErrorMessage}`);
    return r.EventId;
  });
}

// ---- receivers ----

export interface ReceivedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly at: number;
  /** What the receiver did with it. */
  readonly answer: Answer;
}

/**
 * A receiver's answer: a status code (at once, or after `delayMs`, with `body` as the response
 * body), hang past the sender's timeout, or reset the connection.
 */
export type Answer = number | { status: number; delayMs?: number; body?: string | Buffer } | 'hang' | 'reset';

function statusOf(answer: Answer): number | undefined {
  return typeof answer === 'number' ? answer : typeof answer === 'object' ? answer.status : undefined;
}

/**
 * An HTTP endpoint on 127.0.0.1. `answer(n, webhookId)` decides the response to the n-th
 * request (1-based) carrying that webhook-id; by default every request gets 200.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly perId = new Map<string, number>();
  url = '';

  constructor(private readonly answer: (n: number, webhookId: string) => Answer = () => 200) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(answer?: (n: number, webhookId: string) => Answer): Promise<Receiver> {
    const r = new Receiver(answer);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', () => resolve()));
    r.url = `http://127.0.0.1:${(r.server.address() as net.AddressInfo).port}/hook`;
    return r;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const id = headers['webhook-id'] ?? '';
    const n = (this.perId.get(id) ?? 0) + 1;
    this.perId.set(id, n);
    const answer = this.answer(n, id);
    this.requests.push({ headers, body, at: Date.now(), answer });
    if (answer === 'reset') {
      req.socket.destroy();
    } else if (answer === 'hang') {
      this.hanging.add(res);
    } else if (typeof answer === 'object') {
      const respond = () => {
        if (!res.destroyed) res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? 'ok');
      };
      if (!answer.delayMs) return respond();
      this.hanging.add(res);
      setTimeout(() => {
        this.hanging.delete(res);
        respond();
      }, answer.delayMs);
    } else {
      res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    }
  }

  /** Requests that were answered 2xx, by webhook-id (the receiver's dedupe key). */
  deliveredIds(): Set<string> {
    return new Set(this.requests.filter((r) => (statusOf(r.answer) ?? 0) >= 200 && (statusOf(r.answer) ?? 0) < 300).map((r) => r.headers['webhook-id']!));
  }

  attemptsFor(webhookId: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.headers['webhook-id'] === webhookId);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/** Verifies a request's Standard Webhooks signature with the subscription's secret; throws if not. */
export function verify(secret: string, request: ReceivedRequest): unknown {
  return new Webhook(secret).verify(request.body, request.headers);
}

// ---- queues ----

/** Reads (and deletes) every message currently in a queue. */
export async function drain(h: Harness, queueUrl: string, idleMs = 300): Promise<Message[]> {
  const all: Message[] = [];
  let idleSince = Date.now();
  while (Date.now() - idleSince < idleMs) {
    const out = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) {
      await sleep(50);
      continue;
    }
    idleSince = Date.now();
    all.push(...messages);
    await h.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return all;
}

/** Messages waiting or in flight in a queue. */
export async function queueDepth(h: Harness, queueUrl: string): Promise<number> {
  const out = await h.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  );
  const a = out.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

// ---- waiting ----

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until `check` returns a truthy value, polling; on timeout fails with `describe()`, which
 * should say what was expected and what was seen.
 */
export async function waitFor<T>(check: () => T | Promise<T>, options: { timeoutMs: number; describe: () => string; intervalMs?: number }): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms: ${options.describe()}`);
    await sleep(options.intervalMs ?? 50);
  }
}

/** The JSON lines the functions logged so far (Powertools' structured logs), parsed. */
export function functionLogEntries(h: Harness): Record<string, unknown>[] {
  const text = fs.existsSync(h.runtime.logFile) ? fs.readFileSync(h.runtime.logFile, 'utf8') : '';
  // Each line is `<time> <function> <stream> <what the function printed>`.
  return text.split('\n').flatMap((line) => {
    const json = line.slice(Math.max(0, line.indexOf('{')));
    const entry = parseFunctionLine(json);
    // Delivery attempts are log lines too, with every field (the runtime also shows them as `→` lines).
    if (entry.kind === 'delivery-attempt') return [JSON.parse(json) as Record<string, unknown>];
    return entry.kind === 'log' ? [{ ...entry.fields, message: entry.message }] : [];
  });
}

/** The metric records (CloudWatch embedded metric format) the functions printed. */
export function functionMetricRecords(h: Harness): Record<string, unknown>[] {
  const text = fs.existsSync(h.runtime.logFile) ? fs.readFileSync(h.runtime.logFile, 'utf8') : '';
  return text.split('\n').flatMap((line) => {
    const at = line.indexOf('{');
    if (at < 0 || !line.includes('"_aws"')) return [];
    try {
      return [JSON.parse(line.slice(at)) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/**
 * Waits until a function logged the line that proves a decision was taken (e.g. fan-out's
 * `no matching subscriptions` for an event): tests that assert "nothing happened" wait for it
 * instead of sleeping, so they cannot pass merely because the pipeline had not got there yet.
 */
export async function waitForLogLine(h: Harness, message: string | readonly string[], fields: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const messages = typeof message === 'string' ? [message] : message;
  return waitFor(() => functionLogEntries(h).find((e) => messages.includes(String(e.message)) && Object.entries(fields).every(([k, v]) => e[k] === v)), {
    timeoutMs,
    describe: () => `no ${messages.map((m) => `"${m}"`).join(' or ')} line with ${JSON.stringify(fields)} in the function log; last runtime lines:\n${h.logs.slice(-10).join('\n')}`,
  });
}

/** Waits until both delivery lanes have nothing waiting or in flight: every job was settled. */
export async function waitForQuiet(h: Harness, timeoutMs: number): Promise<void> {
  const lanes = [h.runtime.outputs.DeliveryQueueUrl!, h.runtime.outputs.RetryQueueUrl!];
  await waitFor(async () => (await Promise.all(lanes.map((q) => queueDepth(h, q)))).every((n) => n === 0), {
    timeoutMs,
    describe: () => `a delivery lane still holds jobs; last runtime lines:\n${h.logs.slice(-15).join('\n')}`,
  });
}

// ---- one pipeline per test file ----

/**
 * Starts the harness before a test file's tests (`onStart` gets it, e.g. to build stores on its
 * tables) and stops it after them, with every receiver in `receivers` (those `receiver()` started
 * and any the file pushes itself).
 */
export function pipelineSuite(
  options: LocalRuntimeOptions,
  onStart: (h: Harness) => void,
): { readonly receivers: Receiver[]; receiver(answer?: (n: number, webhookId: string) => Answer): Promise<Receiver> } {
  let harness: Harness | undefined;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    harness = await startHarness(options);
    onStart(harness);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await harness?.stop();
  });
  return {
    receivers,
    receiver: async (answer) => {
      const r = await Receiver.start(answer);
      receivers.push(r);
      return r;
    },
  };
}
