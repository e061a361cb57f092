/**
 * `npm run cost` — what one million events cost on AWS, itemized, from what the real pipeline does.
 *
 * Starts the local runtime (the synthesized stack: the real fan-out and delivery bundles, dynalite,
 * fauxqs, the PutEvents endpoint), one tenant with S subscriptions for S in 1, 10, 50, each to a
 * receiver on 127.0.0.1 that answers 200 at once, and puts a fixed load in two shapes:
 *
 *   full batches  the event source mappings are paused while the events are put and fanned out,
 *                 so the delivery jobs wait as a backlog and every SQS batch is full (10), as in
 *                 a busy hour; then they are resumed and drain
 *   trickle       one event at a time, the next only after the previous one's deliveries arrived:
 *                 with one subscription every delivery invocation carries one job
 *
 * After every delivery has arrived and the pipeline is quiet it reads what was COUNTED on the real
 * path: the functions' DynamoDB and SQS calls as AWS bills them (calls, 64 KB chunks, item sizes,
 * WRU and index writes, RRU: local/hosts/api-stats.ts), every invocation with its wall and thread
 * CPU time, and every line the functions logged (application JSON and EMF metrics). What is
 * MODELED is printed under the tables (assumptions); prices are in bench/prices.ts.
 *
 * Options: --events <n> (full-batch events for S ≤ 5; more subscriptions get n × 5/S, so every run
 * makes about the same number of deliveries), --trickle-events <n> (likewise),
 * --latency-ms <n> (endpoint latency added to each delivery invocation), --response-bytes <n>
 * (the body each endpoint answers with), --cpu-scale <x>, --subscriptions 1,10,50, --json.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type EventName, entityKeyOf } from '../lambdas/core/catalog';
import { DEFAULTS } from '../lambdas/core/config';
import { newSecret, newSubscriptionId } from '../lambdas/core/subscriptions';
import { LOCAL_CREDENTIALS } from '../local/emulators';
import type { ApiStatsSnapshot } from '../local/hosts/api-stats';
import { type LocalRuntime, type RuntimeStats, startLocalRuntime } from '../local/runtime';
import type { CfnTemplate } from '../local/template';
import { DAYS_PER_MONTH, GB, LAMBDA_MB_PER_VCPU, PRICES, PRICES_AS_OF, PRICES_REGION } from './prices';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Shape = 'full' | 'trickle';

export interface CostOptions {
  readonly events: number;
  readonly trickleEvents: number;
  readonly latencyMs: number;
  /** The size of the body each endpoint answers with (the delivery log keeps its first 1 KB). */
  readonly responseBytes: number;
  /** Lambda CPU time = CPU time measured here × this (default: 1769 MB ÷ the function's memory). */
  readonly cpuScale: number | undefined;
  readonly subscriptions: readonly number[];
  /** Lambda START/END/REPORT lines per invocation (bytes; modeled). */
  readonly platformLogBytes: number;
  /** Share of invocations X-Ray records at sustained traffic (Lambda's default rule: 1/s, then 5 %). */
  readonly xraySampledFull: number;
  /** Execution environments per function (the stack allows 10; fewer keeps 2 cores from queueing). */
  readonly environments: number;
  /** The stack's `deliveryLog` setting for the run. */
  readonly deliveryLog: 'all' | 'failures';
  /** The stack's `tracing` setting for the run; undefined: the stack's default. */
  readonly tracing?: 'off' | 'passthrough' | 'active';
  /** For the `deliveryLog = failures` what-if: the share of deliveries whose first attempt fails (and so get a record). */
  readonly failureShare: number;
  readonly json: boolean;
}

const EVENT: EventName = 'return_order.status.changed';
const SOURCE = DEFAULTS.sources[0]!;
/** A log event's overhead in CloudWatch Logs' size accounting (PutLogEvents: message + 26 bytes). */
const LOG_EVENT_OVERHEAD_BYTES = 26;
/** Idle event source mapping: pollers per mapping and their long-poll wait (s); modeled. */
const ESM_IDLE_POLLERS = 5;
const ESM_LONG_POLL_S = 20;
const SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400;

// ---------- load ----------

/** An endpoint that answers 200 at once with `body` and remembers what arrived. */
class Receiver {
  readonly ids = new Set<string>();
  requests = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  url = '';

  constructor(body: string) {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.requests++;
        this.ids.add(String(req.headers['webhook-id']));
        res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/hooks/statushooks`;
    return this;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The bus event a producer puts (contract: docs/architecture.md §1). */
function entry(bus: string, tenantId: string, n: number): PutEventsRequestEntry {
  return {
    EventBusName: bus,
    Source: SOURCE,
    DetailType: EVENT,
    Detail: JSON.stringify({ tenantId, oldStatus: 'approved', newStatus: 'option_selected', [entityKeyOf(EVENT)]: { number: String(100_000 + n), uuid: randomUUID(), externalId: null } }),
  };
}

/** Size of the event as EventBridge hands it on and archives it (envelope + detail). */
function archivedEventBytes(e: PutEventsRequestEntry, region: string): number {
  const envelope = { version: '0', id: randomUUID(), 'detail-type': e.DetailType, source: e.Source, account: '123456789012', time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), region, resources: [], detail: JSON.parse(e.Detail!) as unknown };
  return Buffer.byteLength(JSON.stringify(envelope));
}

/** Everything counted for one shape and subscription count. */
export interface Measured {
  readonly shape: Shape;
  readonly subscriptions: number;
  readonly events: number;
  readonly deliveries: number;
  readonly putEventsCalls: number;
  readonly eventBytes: number;
  readonly api: ApiStatsSnapshot;
  readonly functions: RuntimeStats['functions'];
  readonly logs: LogCount;
  readonly seconds: number;
}

interface LogCount {
  readonly appLines: number;
  readonly appBytes: number;
  readonly emfLines: number;
  readonly emfBytes: number;
  /** Distinct metric series (namespace, name, dimension values) seen in EMF records. */
  readonly series: string[];
}

function countLogs(file: string, from: number): { count: LogCount; end: number } {
  const text = fs.existsSync(file) ? fs.readFileSync(file).subarray(from) : Buffer.alloc(0);
  const end = from + text.length;
  let appLines = 0, appBytes = 0, emfLines = 0, emfBytes = 0;
  const series = new Set<string>();
  for (const line of text.toString('utf8').split('\n')) {
    if (!line) continue;
    // `<time> <function> <stream> <what the function printed>`
    const printed = line.split(' ').slice(3).join(' ');
    const bytes = Buffer.byteLength(printed) + 1;
    if (printed.includes('"_aws"')) {
      emfLines++;
      emfBytes += bytes;
      try {
        const record = JSON.parse(printed) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } };
        for (const d of record._aws.CloudWatchMetrics) {
          for (const m of d.Metrics) {
            for (const dims of d.Dimensions.length ? d.Dimensions : [[]]) series.add(`${d.Namespace}/${m.Name}{${dims.map((k) => `${k}=${String(record[k])}`).join(',')}}`);
          }
        }
      } catch {
        // not an EMF record after all: still log bytes
      }
    } else {
      appLines++;
      appBytes += bytes;
    }
  }
  return { count: { appLines, appBytes, emfLines, emfBytes, series: [...series] }, end };
}

/** Counters without the pollers' idle long polls, to see whether anything still happens. */
function activity(stats: RuntimeStats): string {
  const sqs = Object.fromEntries(Object.entries(stats.api.sqs.operations).map(([op, s]) => [op, op === 'ReceiveMessage' ? s.messages : s.calls]));
  const fns = Object.values(stats.functions).map((f) => [f.invocations, f.inFlight]);
  return JSON.stringify([stats.api.dynamodb.operations, sqs, fns]);
}

async function waitForQuiet(runtime: LocalRuntime, quietMs = 1_000, timeoutMs = 120_000): Promise<RuntimeStats> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  for (;;) {
    const stats = await runtime.stats.read();
    const now = activity(stats);
    const busy = Object.values(stats.functions).some((f) => f.inFlight > 0);
    if (now !== last || busy) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return stats;
    if (Date.now() > deadline) throw new Error('the pipeline did not become quiet');
    await sleep(100);
  }
}

const fanOutOf = (stats: RuntimeStats) => Object.values(stats.functions).find((f) => f.logicalId.startsWith('FanOut'));

async function measure(runtime: LocalRuntime, ctx: { events: EventBridgeClient; db: DynamoDBDocumentClient; logOffset: number; responseBody: string }, shape: Shape, subscriptions: number, eventCount: number): Promise<{ measured: Measured; logOffset: number }> {
  const tenantId = `cost-${shape}-${subscriptions}`;
  const receivers = await Promise.all(Array.from({ length: subscriptions }, () => new Receiver(ctx.responseBody).start()));
  try {
    const now = new Date().toISOString();
    for (const r of receivers) {
      await ctx.db.send(new PutCommand({ TableName: runtime.outputs.SubscriptionsTableName, Item: { tenantId, subscriptionId: newSubscriptionId(), url: r.url, events: ['*'], secret: newSecret(32), state: 'active', createdAt: now, updatedAt: now } }));
    }
    const bus = runtime.outputs.EventBusName!;
    const arrived = () => receivers.reduce((sum, r) => sum + r.ids.size, 0);
    // Warm-up (not counted): enough concurrent work to start the execution environments a run uses.
    const warm = Array.from({ length: 20 }, (_, i) => entry(bus, tenantId, i));
    for (let i = 0; i < warm.length; i += 10) await ctx.events.send(new PutEventsCommand({ Entries: warm.slice(i, i + 10) }));
    await waitUntil('the warm-up deliveries', () => arrived() >= warm.length * subscriptions, 60_000);
    await waitForQuiet(runtime);
    const base = arrived();
    await runtime.stats.reset();
    const logStart = countLogs(runtime.logFile, ctx.logOffset).end;
    const started = Date.now();

    const entries = Array.from({ length: eventCount }, (_, i) => entry(bus, tenantId, 1000 + i));
    let putEventsCalls = 0;
    const put = async (batch: PutEventsRequestEntry[]) => {
      putEventsCalls++;
      const out = await ctx.events.send(new PutEventsCommand({ Entries: batch }));
      if (out.FailedEntryCount) throw new Error(`PutEvents refused entries: ${JSON.stringify(out.Entries)}`);
    };
    if (shape === 'full') {
      await runtime.eventSources.pause();
      const calls: PutEventsRequestEntry[][] = [];
      for (let i = 0; i < entries.length; i += 10) calls.push(entries.slice(i, i + 10));
      for (let i = 0; i < calls.length; i += 4) await Promise.all(calls.slice(i, i + 4).map(put));
      await waitUntil('fan-out of every event', async () => {
        const f = fanOutOf(await runtime.stats.read());
        return f !== undefined && f.invocations >= eventCount && f.inFlight === 0;
      }, 120_000);
      runtime.eventSources.resume();
    } else {
      for (const [i, e] of entries.entries()) {
        await put([e]);
        await waitUntil(`event ${i + 1}'s deliveries`, () => arrived() - base >= (i + 1) * subscriptions, 30_000);
      }
    }
    const deliveries = eventCount * subscriptions;
    await waitUntil(`${deliveries} deliveries`, () => arrived() - base >= deliveries, 300_000);
    const stats = await waitForQuiet(runtime);
    const seconds = (Date.now() - started) / 1000;
    // The log stream is written asynchronously; give it a moment.
    await sleep(300);
    const { count: logs, end } = countLogs(runtime.logFile, logStart);
    const duplicates = receivers.reduce((sum, r) => sum + r.requests, 0) - receivers.reduce((sum, r) => sum + r.ids.size, 0);
    if (duplicates > 0) process.stderr.write(`note: ${duplicates} webhook(s) arrived twice (${shape}, ${subscriptions} subscriptions)\n`);
    return {
      measured: { shape, subscriptions, events: eventCount, deliveries, putEventsCalls, eventBytes: archivedEventBytes(entries[0]!, runtime.region), api: stats.api, functions: stats.functions, logs, seconds },
      logOffset: end,
    };
  } finally {
    await Promise.all(receivers.map((r) => r.stop()));
  }
}

// ---------- cost ----------

export const COST_ITEMS = [
  'EventBridge PutEvents',
  'EventBridge archive',
  'Lambda requests',
  'Lambda duration',
  'SQS requests',
  'DynamoDB writes (table)',
  'DynamoDB writes (indexes)',
  'DynamoDB reads',
  'DynamoDB storage + PITR',
  'CloudWatch Logs',
  'CloudWatch metrics (EMF)',
  'X-Ray traces',
] as const;
export type CostItem = (typeof COST_ITEMS)[number];

interface StackFacts {
  readonly archiveRetentionDays: number;
  readonly logRetentionDays: number;
  readonly deliveryLogRetentionDays: number;
  readonly alarms: number;
  readonly eventSourceMappings: number;
  readonly functions: number;
  readonly systemLogLevel: string;
  /** Lambda writes its START/END/REPORT lines (INFO) only with a system log level of INFO or DEBUG. */
  readonly platformLines: boolean;
  /** The functions' X-Ray mode: only `Active` makes statushooks record traces of its own. */
  readonly tracing: string;
}

function stackFacts(template: CfnTemplate): StackFacts {
  const resources = Object.values(template.Resources);
  const props = (type: string) => resources.filter((r) => r.Type === type).map((r) => (r.Properties ?? {}) as Record<string, unknown>);
  const archive = props('AWS::Events::Archive')[0];
  const logGroups = props('AWS::Logs::LogGroup');
  const fns = props('AWS::Lambda::Function');
  const logging = (fns[0]?.LoggingConfig ?? {}) as { SystemLogLevel?: string; LogFormat?: string };
  return {
    archiveRetentionDays: Number(archive?.RetentionDays ?? 0),
    logRetentionDays: Number(logGroups[0]?.RetentionInDays ?? 30),
    deliveryLogRetentionDays: Number(DEFAULTS.deliveryLogRetentionDays ?? 30),
    // CloudWatch bills an alarm per metric it reads: a metric-math alarm over three metrics is three.
    alarms: props('AWS::CloudWatch::Alarm').reduce((n, a) => n + (Array.isArray(a.Metrics) ? (a.Metrics as { MetricStat?: unknown }[]).filter((m) => m.MetricStat !== undefined).length : 1), 0),
    eventSourceMappings: props('AWS::Lambda::EventSourceMapping').length,
    functions: fns.length,
    systemLogLevel: `${logging.LogFormat ?? 'Text'} format, system log level ${logging.SystemLogLevel ?? 'INFO'}`,
    platformLines: ['INFO', 'DEBUG', undefined].includes(logging.SystemLogLevel),
    tracing: String((fns[0]?.TracingConfig as { Mode?: string } | undefined)?.Mode ?? 'PassThrough'),
  };
}

interface Figures {
  /** $ per million events, by item. */
  readonly perMillion: Record<CostItem, number>;
  readonly total: number;
  /** Raw figures per event. */
  readonly perEvent: Record<string, number>;
}

function billedMs(m: Measured, o: CostOptions): { byFunction: Record<string, { invocations: number; billedMs: number; cpuMs: number; waitMs: number; endpointMs: number; memoryMb: number }>; gbSeconds: number } {
  const byFunction: ReturnType<typeof billedMs>['byFunction'] = {};
  let gbSeconds = 0;
  for (const [name, f] of Object.entries(m.functions)) {
    const scale = o.cpuScale ?? LAMBDA_MB_PER_VCPU / f.memorySize;
    const endpoint = f.logicalId.startsWith('Delivery') ? o.latencyMs : 0;
    let billed = 0, cpu = 0, wait = 0;
    f.wallMs.forEach((wall, i) => {
      const c = Math.min(f.cpuMs[i] ?? wall, wall);
      cpu += c;
      wait += wall - c;
      billed += Math.ceil(c * scale + (wall - c) + endpoint);
    });
    byFunction[name] = { invocations: f.wallMs.length, billedMs: billed, cpuMs: cpu, waitMs: wait, endpointMs: endpoint * f.wallMs.length, memoryMb: f.memorySize };
    gbSeconds += (billed / 1000) * (f.memorySize / 1024);
  }
  return { byFunction, gbSeconds };
}

function price(m: Measured, o: CostOptions, facts: StackFacts): Figures {
  const e = m.events;
  const per = (usd: number) => (usd / e) * 1e6;
  const sqsOps = Object.entries(m.api.sqs.operations);
  const sqsBilled = sqsOps.reduce((sum, [op, s]) => sum + s.billedRequests - (op === 'ReceiveMessage' ? s.empty : 0), 0);
  const sqsEmpty = m.api.sqs.operations.ReceiveMessage?.empty ?? 0;
  const tables = Object.values(m.api.dynamodb.tables);
  const wru = tables.reduce((sum, t) => sum + t.wru, 0);
  const indexWru = tables.reduce((sum, t) => sum + Object.values(t.indexWrites).reduce((s, i) => s + i.wru, 0), 0);
  const rru = tables.reduce((sum, t) => sum + t.rru, 0);
  const storedBytes = tables.reduce((sum, t) => sum + Math.max(0, t.storageDeltaBytes), 0);
  const invocations = Object.values(m.functions).reduce((sum, f) => sum + f.invocations, 0);
  const { gbSeconds, byFunction } = billedMs(m, o);
  const logBytes = m.logs.appBytes + m.logs.emfBytes + (m.logs.appLines + m.logs.emfLines) * LOG_EVENT_OVERHEAD_BYTES + (facts.platformLines ? invocations * o.platformLogBytes : 0);
  // Pass-through records a trace only for requests a producer already traces (their cost); Active records its own.
  const sampled = facts.tracing !== 'Active' ? 0 : m.shape === 'trickle' ? 1 : o.xraySampledFull;
  const perMillion: Record<CostItem, number> = {
    'EventBridge PutEvents': per(e * Math.max(1, Math.ceil(m.eventBytes / 65_536)) * PRICES.eventBridgeEvent.usd),
    'EventBridge archive': per(((e * m.eventBytes) / GB) * (PRICES.eventBridgeArchiveGb.usd + PRICES.eventBridgeArchiveStorageGbMonth.usd * (facts.archiveRetentionDays / DAYS_PER_MONTH))),
    'Lambda requests': per(invocations * PRICES.lambdaRequest.usd),
    'Lambda duration': per(gbSeconds * PRICES.lambdaGbSecondArm.usd),
    'SQS requests': per(sqsBilled * PRICES.sqsRequest.usd),
    'DynamoDB writes (table)': per(wru * PRICES.dynamoWriteRequestUnit.usd),
    'DynamoDB writes (indexes)': per(indexWru * PRICES.dynamoWriteRequestUnit.usd),
    'DynamoDB reads': per(rru * PRICES.dynamoReadRequestUnit.usd),
    'DynamoDB storage + PITR': per((storedBytes / GB) * (facts.deliveryLogRetentionDays / DAYS_PER_MONTH) * (PRICES.dynamoStorageGbMonth.usd + PRICES.dynamoPitrGbMonth.usd)),
    'CloudWatch Logs': per((logBytes / GB) * (PRICES.cloudWatchLogsIngestGb.usd + PRICES.cloudWatchLogsStorageGbMonth.usd * (facts.logRetentionDays / DAYS_PER_MONTH))),
    'CloudWatch metrics (EMF)': 0,
    'X-Ray traces': per(invocations * sampled * PRICES.xrayTraceRecorded.usd),
  };
  const total = Object.values(perMillion).reduce((a, b) => a + b, 0);
  const fn = (prefix: string) => Object.entries(byFunction).filter(([, f]) => f).find(([name]) => name.startsWith(prefix))?.[1];
  const fanOut = fn('FanOut');
  const delivery = fn('DeliveryFunction');
  const perEvent: Record<string, number> = {
    deliveries: m.deliveries / e,
    'fan-out invocations': (fanOut?.invocations ?? 0) / e,
    'delivery invocations': (delivery?.invocations ?? 0) / e,
    'jobs per delivery invocation': delivery?.invocations ? m.deliveries / delivery.invocations : 0,
    'fan-out ms CPU (measured) per invocation': fanOut?.invocations ? fanOut.cpuMs / fanOut.invocations : 0,
    'fan-out ms waiting (measured) per invocation': fanOut?.invocations ? fanOut.waitMs / fanOut.invocations : 0,
    'delivery ms CPU (measured) per invocation': delivery?.invocations ? delivery.cpuMs / delivery.invocations : 0,
    'delivery ms waiting (measured) per invocation': delivery?.invocations ? delivery.waitMs / delivery.invocations : 0,
    'billed Lambda ms (modeled)': Object.values(byFunction).reduce((s, f) => s + f.billedMs, 0) / e,
    'Lambda GB-s': gbSeconds / e,
    'SQS billed requests': sqsBilled / e,
    'SQS empty receives (idle polling, not priced here)': sqsEmpty / e,
    'DynamoDB calls': Object.values(m.api.dynamodb.operations).reduce((s, op) => s + op.calls, 0) / e,
    'DynamoDB WRU table': wru / e,
    'DynamoDB WRU indexes': indexWru / e,
    'DynamoDB RRU': rru / e,
    'DynamoDB bytes stored': storedBytes / e,
    'log bytes (app)': m.logs.appBytes / e,
    'log bytes (EMF)': m.logs.emfBytes / e,
    'log bytes (all, incl. modeled)': logBytes / e,
    'X-Ray traces': (invocations * sampled) / e,
  };
  return { perMillion, total, perEvent };
}

/** The stack's cost targets (issue "Cost and speed"), $ per million events. */
const TARGET_ONE_SUBSCRIBER = 2.5;
const TARGET_PER_EXTRA_SUBSCRIBER = 0.5;
/** What-if: the delivery log's table and indexes on provisioned capacity, auto scaled to this utilization. */
const PROVISIONED_UTILIZATION = 0.7;

/** The delivery log's part of a run's cost ($ per million events): its writes (table + indexes) and storage. */
function deliveryLogCost(m: Measured, facts: StackFacts): { writes: number; storage: number; wru: number } {
  const log = Object.entries(m.api.dynamodb.tables).filter(([name]) => name.startsWith('DeliveryLogTable')).map(([, t]) => t);
  const wru = log.reduce((sum, t) => sum + t.wru + Object.values(t.indexWrites).reduce((s, i) => s + i.wru, 0), 0);
  const bytes = log.reduce((sum, t) => sum + Math.max(0, t.storageDeltaBytes), 0);
  const per = (usd: number) => (usd / m.events) * 1e6;
  return {
    wru: wru / m.events,
    writes: per(wru * PRICES.dynamoWriteRequestUnit.usd),
    storage: per((bytes / GB) * (facts.deliveryLogRetentionDays / DAYS_PER_MONTH) * (PRICES.dynamoStorageGbMonth.usd + PRICES.dynamoPitrGbMonth.usd)),
  };
}

/**
 * The totals against the targets, with the delivery log's share and two what-ifs priced from the
 * same counted run: the log on provisioned capacity, and no log at all.
 */
function targetLines(results: Measured[], o: CostOptions, facts: StackFacts): string[] {
  const subs = o.subscriptions;
  const first = subs[0]!;
  const last = subs[subs.length - 1]!;
  const provisionedPerWru = PRICES.dynamoProvisionedWcuHour.usd / 3600 / PROVISIONED_UTILIZATION;
  const rows: string[][] = [];
  for (const shape of ['full', 'trickle'] as const) {
    const at = (s: number) => results.find((r) => r.shape === shape && r.subscriptions === s)!;
    const one = at(first);
    const many = at(last);
    const variants = (m: Measured) => {
      const total = price(m, o, facts).total;
      const log = deliveryLogCost(m, facts);
      const provisioned = total - log.writes + (log.writes / PRICES.dynamoWriteRequestUnit.usd) * provisionedPerWru;
      const without = total - log.writes - log.storage;
      // A failing delivery's record costs about what every record costs with `all` (its first
      // failure creates it with its index entries, each later attempt updates it).
      return { total, log: log.writes + log.storage, provisioned, without, failuresOnly: without + o.failureShare * (log.writes + log.storage) };
    };
    const a = variants(one);
    const b = variants(many);
    const extra = (k: keyof typeof a) => (b[k] - a[k]) / (last - first);
    const label = shape === 'full' ? 'full batches' : 'trickle';
    rows.push(
      [`as deployed (${label})`, usd(a.total), usd(extra('total'))],
      [`  of which the delivery log (${num(deliveryLogCost(one, facts).wru)} WRU per delivery + storage)`, usd(a.log), usd(extra('log'))],
      // With `failures` and every delivery succeeding there is no log cost to reprice.
      ...(o.deliveryLog === 'all'
        ? [
            [`  the log on provisioned capacity, ${PROVISIONED_UTILIZATION * 100} % utilized (what-if)`, usd(a.provisioned), usd(extra('provisioned'))],
            [`  without the delivery log (what-if)`, usd(a.without), usd(extra('without'))],
            [`  \`deliveryLog = failures\`, ${num(o.failureShare * 100)} % of first attempts failing (what-if)`, usd(a.failuresOnly), usd(extra('failuresOnly'))],
          ]
        : []),
    );
  }
  rows.push(['**target**', `**≤ ${TARGET_ONE_SUBSCRIBER.toFixed(2)}**`, `**≤ ${TARGET_PER_EXTRA_SUBSCRIBER.toFixed(2)}**`]);
  return [
    '### Against the targets: $ per million events',
    '',
    ...table(['', `${first} subscriber`, `per extra subscriber (${last} vs ${first})`], rows),
    '',
    ...(o.deliveryLog === 'all' ? [`The what-ifs reprice the same counted calls: provisioned write capacity at $${PRICES.dynamoProvisionedWcuHour.usd} per WCU-hour, auto scaled to keep it ${PROVISIONED_UTILIZATION * 100} % used (steady traffic; bursts above it throttle); "without" drops the log's writes and storage; \`deliveryLog = failures\` keeps the log's cost for the failing share of deliveries only (--failure-share; measure it for real with --delivery-log failures).`] : []),
    `This run: \`deliveryLog = ${o.deliveryLog}\`${o.deliveryLog === 'failures' ? ' (every delivery here succeeds at its first attempt, so the log is not written at all)' : ''}.`,
    '',
  ];
}

// ---------- output ----------

const usd = (v: number) => (v === 0 ? '0' : v < 0.0005 && v > -0.0005 ? (v > 0 ? '<0.001' : '>−0.001') : v.toFixed(3));
const num = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

function table(headers: string[], rows: string[][], leftLast = false): string[] {
  const align = headers.map((_, i) => (i === 0 || (leftLast && i === headers.length - 1) ? '---' : '---:'));
  return [`| ${headers.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function report(results: Measured[], o: CostOptions, facts: StackFacts, command: string, totalSeconds: number): { lines: string[]; json: unknown } {
  const lines: string[] = [];
  const json: Record<string, unknown> = { pricesAsOf: PRICES_AS_OF, region: PRICES_REGION, options: o, facts, shapes: {} };
  const subs = o.subscriptions;
  const first = subs[0]!;
  const extras = subs.slice(1);
  for (const shape of ['full', 'trickle'] as const) {
    const runs = subs.map((s) => results.find((r) => r.shape === shape && r.subscriptions === s)!);
    const figures = runs.map((r) => price(r, o, facts));
    const extra = (i: number) => {
      const s = subs[i]!;
      return Object.fromEntries(COST_ITEMS.map((item) => [item, (figures[i]!.perMillion[item] - figures[0]!.perMillion[item]) / (s - first)])) as Record<CostItem, number>;
    };
    const extraFigures = extras.map((_, k) => extra(k + 1));
    const title = shape === 'full' ? 'Full batches (10 jobs per delivery invocation)' : 'Trickle (one event at a time)';
    lines.push(`### ${title}: $ per million events`, '');
    const headers = ['item', ...subs.map((s) => `${s} sub${s === 1 ? '' : 's'}`), ...extras.map((s) => `per extra sub (${s} vs ${first})`)];
    const rows = COST_ITEMS.map((item) => [item, ...figures.map((f) => usd(f.perMillion[item])), ...extraFigures.map((x) => usd(x[item]))]);
    rows.push(['**total**', ...figures.map((f) => `**${usd(f.total)}**`), ...extraFigures.map((x) => `**${usd(Object.values(x).reduce((a, b) => a + b, 0))}**`)]);
    lines.push(...table(headers, rows), '');
    lines.push(`Counted per event (${runs.map((r) => `${r.subscriptions} sub${r.subscriptions === 1 ? '' : 's'}: ${r.events} events, ${r.deliveries} deliveries, ${r.seconds.toFixed(1)} s`).join('; ')}):`, '');
    const keys = Object.keys(figures[0]!.perEvent);
    lines.push(...table(['per event', ...subs.map((s) => `${s} sub${s === 1 ? '' : 's'}`)], keys.map((k) => [k, ...figures.map((f) => num(f.perEvent[k] ?? 0))])), '');
    const callRows = new Map<string, number[]>();
    runs.forEach((r, i) => {
      for (const [op, s] of Object.entries(r.api.sqs.operations)) {
        const key = `SQS ${op}${op === 'ReceiveMessage' ? ' (with messages)' : ''}`;
        (callRows.get(key) ?? callRows.set(key, subs.map(() => 0)).get(key)!)[i] = (op === 'ReceiveMessage' ? s.calls - s.empty : s.calls) / r.events;
      }
      for (const [name, t] of Object.entries(r.api.dynamodb.tables)) {
        for (const [op, n] of Object.entries(t.calls)) {
          const key = `DynamoDB ${op} ${name.replace(/[0-9A-F]{8}$/, '')}`;
          (callRows.get(key) ?? callRows.set(key, subs.map(() => 0)).get(key)!)[i] = n / r.events;
        }
      }
    });
    lines.push(...table(['calls per event', ...subs.map((s) => `${s} sub${s === 1 ? '' : 's'}`)], [...callRows.entries()].sort().map(([k, v]) => [k, ...v.map(num)])), '');
    (json.shapes as Record<string, unknown>)[shape] = { runs: runs.map((r, i) => ({ subscriptions: r.subscriptions, events: r.events, deliveries: r.deliveries, seconds: r.seconds, perMillion: figures[i]!.perMillion, total: figures[i]!.total, perEvent: figures[i]!.perEvent, api: r.api, logs: r.logs })), perExtraSubscriber: Object.fromEntries(extras.map((s, k) => [`${s}vs${first}`, extraFigures[k]])) };
  }

  lines.push(...targetLines(results, o, facts));

  // Fixed monthly costs: they do not grow with events.
  const series = new Set(results.flatMap((r) => r.logs.series));
  const metricsMonth = series.size * PRICES.cloudWatchMetricMonth.usd;
  const alarmsMonth = facts.alarms * PRICES.cloudWatchAlarmMonth.usd;
  const idlePolls = facts.eventSourceMappings * ESM_IDLE_POLLERS * (SECONDS_PER_MONTH / ESM_LONG_POLL_S);
  const idleMonth = idlePolls * PRICES.sqsRequest.usd;
  // Lambda's default sampling rule: one trace per second per function (the reservoir), recorded
  // only with active tracing.
  const reservoirMonth = facts.functions * SECONDS_PER_MONTH * PRICES.xrayTraceRecorded.usd;
  lines.push('### Fixed monthly costs (independent of the event count)', '');
  lines.push(
    ...table(
      ['item', '$ / month', 'how'],
      [
        ['CloudWatch custom metrics (EMF)', usd(metricsMonth), `${series.size} metric series seen in the runs (name × dimension values) × $${PRICES.cloudWatchMetricMonth.usd}`],
        ['per-tenant failure metrics', `+${usd(2 * PRICES.cloudWatchMetricMonth.usd)} per tenant`, 'DeliveriesFailed and DeliveriesDeadLettered with TenantId, for each tenant with a failure that month (none in these runs: every delivery succeeded)'],
        ['CloudWatch alarms', usd(alarmsMonth), `${facts.alarms} alarm metrics in the template × $${PRICES.cloudWatchAlarmMonth.usd}`],
        ['SQS idle polling (event source mappings)', usd(idleMonth), `modeled: ${facts.eventSourceMappings} mappings × ${ESM_IDLE_POLLERS} pollers × one ${ESM_LONG_POLL_S} s long poll each, all month`],
        facts.tracing === 'Active'
          ? ['X-Ray reservoir', `up to ${usd(reservoirMonth)}`, `Lambda's default sampling records the first request each second per function (${facts.functions} functions) before 5 % of the rest: ≤ 1 trace/s each while traffic lasts`]
          : ['X-Ray reservoir', '0', `tracing is ${facts.tracing}: no traces of statushooks' own (with tracing=active, up to ${usd(reservoirMonth)}: the first request each second per function, ${facts.functions} functions)`],
      ],
      true,
    ),
    '',
  );
  json.fixedMonthly = { metricSeries: [...series].sort(), metricsMonth, alarmsMonth, idlePollingMonth: idleMonth, xrayReservoirMonthMax: facts.tracing === 'Active' ? reservoirMonth : 0 };

  const memory = [...new Set(results.flatMap((r) => Object.values(r.functions).map((f) => f.memorySize)))].join('/');
  const cpuSource = [...new Set(results.flatMap((r) => Object.values(r.functions).map((f) => f.cpuSource)))].filter((s) => s !== 'none').join('/');
  const scale = o.cpuScale ?? LAMBDA_MB_PER_VCPU / Number(memory);
  lines.push('### Counted, modeled, assumed', '');
  lines.push(
    `- Prices: ${PRICES_REGION} list prices as of ${PRICES_AS_OF} (bench/prices.ts, a source URL per line; check them), on-demand, no free tier.`,
    '- Counted on the real path (the local runtime): PutEvents entries; every DynamoDB and SQS call the functions and the event source mappings made, with bytes, SQS 64 KB chunks, DynamoDB item sizes before/after each write, WRU incl. index writes, RRU from the items returned (local/hosts/api-stats.ts); invocations per function with wall and thread CPU time' +
      ` (${cpuSource || 'n/a'}); every log line the functions printed (application JSON and EMF).`,
    `- Local concurrency: ${o.environments} execution environments per function (--environments; the stack allows 10): more only makes the functions queue for this machine's cores, which inflates the measured waiting.`,
    `- Lambda duration (modeled from the measured): per invocation ⌈CPU × ${num(scale)} + waiting + endpoint⌉ ms at ${memory} MB arm64. CPU × ${num(scale)}: a ${memory} MB function gets ${memory}/${LAMBDA_MB_PER_VCPU} of a vCPU (this machine's core taken as one vCPU). Waiting: wall − CPU measured here, i.e. the local emulators stand in for DynamoDB/SQS latency. Endpoint: ${o.latencyMs} ms per delivery invocation (a batch waits for its slowest request; --latency-ms). Cold starts (INIT) are not counted.`,
    `- Endpoints: each answers 200 with ${o.responseBytes} B of body (--response-bytes); the delivery log keeps the first 1 KB of each answer, so larger answers make larger records (an item over 1 KB costs 2 WRU per write).`,
    `- CloudWatch Logs: application + EMF bytes as printed, +${LOG_EVENT_OVERHEAD_BYTES} B per log event, +${o.platformLogBytes} B per invocation for Lambda's START/END/REPORT lines (modeled, --platform-log-bytes; the template sets ${facts.systemLogLevel}${/WARN/.test(facts.systemLogLevel) ? ', which may drop them: then this overstates' : ''}). Ingestion + ${facts.logRetentionDays} days of storage, uncompressed (an upper bound).`,
    `- EventBridge: one event per entry (${results[0]?.eventBytes ?? 0} B with its envelope, < 64 KB); archive: that size, archived and kept ${facts.archiveRetentionDays} days. The stack's own operational events (endpoint failing/recovered) do not occur in these runs.`,
    `- DynamoDB storage: net bytes the run left stored (items and index items with DynamoDB's 100 B overhead) kept ${facts.deliveryLogRetentionDays} days (the delivery log's retention), with point-in-time recovery. A write refused by its condition is 1 WRU.`,
    `- SQS: ReceiveMessage calls that returned nothing are idle polling; locally the pollers wait 1 s (AWS: 20 s), so they are priced as the fixed line above, not per event.`,
    `- X-Ray: the functions' tracing mode is ${facts.tracing}; only Active records traces of statushooks' own (one per invocation; SQS-triggered invocations each start a trace); then the recorded share is: trickle 100 % (within the 1/s reservoir), full batches ${num(o.xraySampledFull * 100)} % (Lambda's default rule beyond the reservoir; the reservoir is the fixed line above). Retrievals ($${PRICES.xrayTraceRetrieved.usd * 1e6}/M) not counted.`,
    `- Metrics: EMF has no per-event charge beyond its log bytes; each metric series is a fixed monthly cost.`,
    `- Per extra subscriber = (cost at S − cost at ${first}) ÷ (S − ${first}), per million events, each delivered to that one more subscriber.`,
    '',
    `\`${command}\` — ${os.cpus().length} cores, node ${process.version}, ${totalSeconds.toFixed(0)} s`,
  );
  return { lines, json };
}

// ---------- main ----------

export async function runCost(o: CostOptions, print: (line: string) => void): Promise<void> {
  const started = Date.now();
  const lines: string[] = [];
  // The stack as deployed logs at its default level (INFO), not the local runtime's DEBUG.
  const runtime = await startLocalRuntime({ stateFile: false, maxEnvironmentsPerFunction: o.environments, context: { logLevel: 'INFO', deliveryLog: o.deliveryLog, ...(o.tracing === undefined ? {} : { tracing: o.tracing }) }, log: (line) => (line.startsWith('!') ? process.stderr.write(`${line}\n`) : lines.push(line)) });
  const events = new EventBridgeClient({ endpoint: runtime.endpoints.eventbridge, region: runtime.region, credentials: LOCAL_CREDENTIALS });
  const dynamodb = new DynamoDBClient({ endpoint: runtime.endpoints.dynamodb, region: runtime.region, credentials: LOCAL_CREDENTIALS });
  const db = DynamoDBDocumentClient.from(dynamodb);
  const results: Measured[] = [];
  try {
    // "ok", or that many bytes of text: what the delivery log keeps of each answer (its first 1 KB) sizes its records.
    const ctx = { events, db, logOffset: 0, responseBody: o.responseBytes === 2 ? 'ok' : 'x'.repeat(o.responseBytes) };
    for (const shape of ['full', 'trickle'] as const) {
      for (const s of o.subscriptions) {
        const base = shape === 'full' ? o.events : o.trickleEvents;
        const n = Math.max(5, Math.round(base * Math.min(1, 5 / s)));
        if (!o.json) process.stderr.write(`${shape}: ${s} subscription(s), ${n} events … `);
        const t = Date.now();
        const { measured, logOffset } = await measure(runtime, ctx, shape, s, n);
        ctx.logOffset = logOffset;
        results.push(measured);
        if (!o.json) process.stderr.write(`${((Date.now() - t) / 1000).toFixed(1)} s\n`);
      }
    }
  } finally {
    events.destroy();
    dynamodb.destroy();
    await runtime.stop();
  }
  const command = `npm run cost -- --events ${o.events} --trickle-events ${o.trickleEvents} --latency-ms ${o.latencyMs}${o.responseBytes === 2 ? '' : ` --response-bytes ${o.responseBytes}`} --environments ${o.environments}${o.deliveryLog === 'all' ? '' : ` --delivery-log ${o.deliveryLog}`}${o.tracing === undefined ? '' : ` --tracing ${o.tracing}`}${o.cpuScale === undefined ? '' : ` --cpu-scale ${o.cpuScale}`}`;
  const { lines: out, json } = report(results, o, stackFacts(runtime.template), command, (Date.now() - started) / 1000);
  if (o.json) print(JSON.stringify(json, null, 2));
  else for (const line of out) print(line);
}

function deliveryLogOption(v: string | undefined): 'all' | 'failures' {
  if (v === 'all' || v === 'failures') return v;
  throw new Error(`--delivery-log must be all or failures, got ${v}`);
}

function tracingOption(v: string | undefined): CostOptions['tracing'] {
  if (v === undefined || v === 'off' || v === 'passthrough' || v === 'active') return v;
  throw new Error(`--tracing must be off, passthrough or active, got ${v}`);
}

function shareOption(v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--failure-share must be a fraction from 0 to 1, got ${v}`);
  return n;
}

function options(argv: string[]): CostOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '1000' },
      'trickle-events': { type: 'string', default: '30' },
      'latency-ms': { type: 'string', default: '100' },
      'response-bytes': { type: 'string', default: '2' },
      'cpu-scale': { type: 'string' },
      subscriptions: { type: 'string', default: '1,10,50' },
      'platform-log-bytes': { type: 'string', default: '300' },
      'xray-sampled': { type: 'string', default: '0.05' },
      environments: { type: 'string', default: '3' },
      'delivery-log': { type: 'string', default: 'all' },
      tracing: { type: 'string' },
      'failure-share': { type: 'string', default: '0.02' },
      json: { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, v: string | undefined, min = 1) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${v}`);
    return n;
  };
  const subscriptions = String(values.subscriptions).split(',').map((s) => positive('subscriptions', s));
  if (subscriptions.length < 2) throw new Error('--subscriptions needs at least two counts (the first is the base of "per extra subscriber")');
  return {
    events: Math.round(positive('events', values.events)),
    trickleEvents: Math.round(positive('trickle-events', values['trickle-events'])),
    latencyMs: positive('latency-ms', values['latency-ms'], 0),
    responseBytes: Math.round(positive('response-bytes', values['response-bytes'], 0)),
    cpuScale: values['cpu-scale'] === undefined ? undefined : positive('cpu-scale', values['cpu-scale'], 0),
    subscriptions,
    platformLogBytes: positive('platform-log-bytes', values['platform-log-bytes'], 0),
    xraySampledFull: positive('xray-sampled', values['xray-sampled'], 0),
    environments: Math.round(positive('environments', values.environments)),
    deliveryLog: deliveryLogOption(values['delivery-log']),
    tracing: tracingOption(values.tracing),
    failureShare: shareOption(values['failure-share']),
    json: values.json ?? false,
  };
}

if (require.main === module) {
  runCost(options(process.argv.slice(2)), (line) => process.stdout.write(`${line}\n`)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
