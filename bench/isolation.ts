/**
 * `npm run bench:isolation` — do deliveries to healthy endpoints keep their latency and throughput
 * while another endpoint hangs or answers slowly?
 *
 * Three scenarios, each on a FRESH local runtime (the synthesized stack with its defaults:
 * dynalite, fauxqs, the real fan-out and delivery functions, the real PutEvents endpoint), so that
 * no job, open connection or busy execution environment of one scenario reaches the next:
 *
 *   baseline    only healthy traffic: 90 % of the rate, spread over 5 receivers answering in 20 ms
 *   black-hole  the same healthy traffic + the other 10 % to an endpoint that accepts the TCP
 *               connection and never answers
 *   slow        the same healthy traffic + the other 10 % to an endpoint that answers 204 after 5 s
 *
 * The healthy schedule is the same slots at the same times in all three: slot i of the window
 * is put at T0 + i / rate; every 10th slot is the bad endpoint's (or nothing, in the baseline).
 * The load is open-loop: an event is put when its slot comes, whether or not earlier ones were
 * delivered. Every event is one PutEvents call, as a producer makes it.
 *
 * latency    = first arrival at its receiver − the moment its PutEvents call was made (one clock,
 *              this process). An event not delivered when the drain ends counts with its wait so
 *              far, a lower bound, shown as "≥".
 * throughput = healthy deliveries (distinct events) arriving during the window ÷ window length.
 *              A short healthy-only warm-up precedes the window so that it starts in steady state.
 *
 * Target (the issue): p99(bad scenario) ≤ 1.5 × p99(baseline), throughput ≥ 0.9 × baseline's.
 * Exit status 0 unless the bench itself breaks (a put refused, a bad signature); with --check
 * also 1 when a ratio misses its target.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type EventName, entityKeyOf } from '../lambdas/core/catalog';
import { DynamoHealthStore } from '../lambdas/adapters/health-store';
import { DEFAULTS } from '../lambdas/core/config';
import { newSecret, newSubscriptionId } from '../lambdas/core/subscriptions';
import { LOCAL_CREDENTIALS } from '../local/emulators';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime';
import { BlackHole, HealthyReceiver, SlowReceiver } from './lib/receivers';

export type ScenarioName = 'baseline' | 'black-hole' | 'slow';
export const SCENARIOS: readonly ScenarioName[] = ['baseline', 'black-hole', 'slow'];

export interface IsolationOptions {
  /** Events per second in the window, bad endpoint's share included (the baseline leaves those slots empty). */
  readonly rate: number;
  /** Measured window (s). */
  readonly durationS: number;
  /** Healthy-only load before the window (s), not measured. */
  readonly warmupS: number;
  /** Longest wait after the window for the window's healthy events to arrive (s). */
  readonly drainS: number;
  /** Share of the window's deliveries that go to the bad endpoint (0.1 = every 10th slot). */
  readonly badShare: number;
  readonly healthyReceivers: number;
  readonly healthyAnswerMs: number;
  readonly slowAnswerMs: number;
  /** Overrides the stack's httpTimeoutMs (default: the stack default). */
  readonly httpTimeoutMs?: number;
  /** Further CDK context (`-c key=value`), e.g. settings a fix adds. */
  readonly context: Readonly<Record<string, string>>;
  /** Each round runs every scenario once; the order rotates per round; samples are pooled. */
  readonly rounds: number;
  readonly scenarios: readonly ScenarioName[];
  readonly verbose: boolean;
  /** Skip the pre-warm of execution environments (cold starts then land inside the window). */
  readonly cold: boolean;
  readonly print: (line: string) => void;
}

export const DEFAULT_OPTIONS: IsolationOptions = {
  rate: 30,
  durationS: 20,
  warmupS: 3,
  drainS: 15,
  badShare: 0.1,
  healthyReceivers: 5,
  healthyAnswerMs: 20,
  slowAnswerMs: 5000,
  context: {},
  rounds: 1,
  scenarios: SCENARIOS,
  verbose: false,
  cold: false,
  print: (line) => process.stdout.write(`${line}\n`),
};

interface RunResult {
  readonly scenario: ScenarioName;
  /** Healthy window events whose PutEvents call succeeded. */
  readonly put: number;
  /** Their latencies (ms), undelivered ones as their wait until the drain ended (censored). */
  readonly latenciesMs: number[];
  readonly censored: boolean[];
  /** Distinct healthy deliveries arriving inside the window. */
  readonly arrivedInWindow: number;
  readonly windowMs: number;
  /** Bad-endpoint slots put, and what reached the bad endpoint (connections / requests). */
  readonly badPut: number;
  readonly badArrived: number;
  readonly putFailures: string[];
  readonly receiverProblems: string[];
  /** Largest delay of a put behind its slot (ms): the load generator's own lag. */
  readonly maxPutLagMs: number;
  readonly setupMs: number;
  readonly totalMs: number;
  readonly runtimeWarnings: string[];
  /** Per second of the window (by put time): the slowest healthy latency (ms), for --verbose. */
  readonly worstPerSecond: number[];
  /** Per second from the warm-up on: CPU ms of the whole process, and the main thread's worst event-loop stall (ms). */
  readonly cpuPerSecond: number[];
  readonly stallPerSecond: number[];
}

const EVENT: EventName = 'return_order.status.changed';
const SOURCE = DEFAULTS.sources[0]!;
const REPO_ROOT = path.resolve(__dirname, '..');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Waits for `work`, at most `ms`; the timer does not outlive it (a pending timer keeps the process up). */
async function withinMs(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** One scenario on its own runtime: set up (untimed), warm up, put the window, drain, tear down. */
async function runScenario(scenario: ScenarioName, round: number, o: IsolationOptions): Promise<RunResult> {
  const started = performance.now();
  const warnings: string[] = [];
  const runtime: LocalRuntime = await startLocalRuntime({
    cwd: REPO_ROOT,
    stateFile: false,
    ...(o.httpTimeoutMs !== undefined ? { httpTimeoutMs: o.httpTimeoutMs } : {}),
    context: o.context,
    log: (line) => {
      if (process.env.ISOLATION_BENCH_LOG) appendFileSync(process.env.ISOLATION_BENCH_LOG, `${Math.round(performance.now())} ${scenario} ${line}\n`);
      if (line.startsWith('!') && warnings.length < 200) warnings.push(line);
    },
  });
  const events = new EventBridgeClient({ endpoint: runtime.endpoints.eventbridge, region: runtime.region, credentials: LOCAL_CREDENTIALS });
  const dynamodb = new DynamoDBClient({ endpoint: runtime.endpoints.dynamodb, region: runtime.region, credentials: LOCAL_CREDENTIALS });
  const db = DynamoDBDocumentClient.from(dynamodb);
  const healthy: HealthyReceiver[] = [];
  let blackHole: BlackHole | undefined;
  let slow: SlowReceiver | undefined;
  try {
    const subscribe = async (tenantId: string, url: string, secret: string): Promise<string> => {
      const now = new Date().toISOString();
      const subscriptionId = newSubscriptionId();
      await db.send(
        new PutCommand({
          TableName: runtime.outputs.SubscriptionsTableName,
          Item: { tenantId, subscriptionId, url, events: ['*'], secret, state: 'active', createdAt: now, updatedAt: now },
        }),
      );
      return subscriptionId;
    };
    // Each healthy receiver is its own tenant with one subscription, and so is the bad endpoint.
    for (let k = 0; k < o.healthyReceivers; k++) {
      const secret = newSecret(32);
      const receiver = await HealthyReceiver.start(secret, o.healthyAnswerMs);
      healthy.push(receiver);
      await subscribe(`iso-healthy-${k + 1}`, receiver.url, secret);
    }
    if (scenario === 'black-hole') {
      blackHole = await BlackHole.start();
      await subscribe('iso-bad', blackHole.url, newSecret(32));
    } else if (scenario === 'slow') {
      slow = await SlowReceiver.start(o.slowAnswerMs);
      await subscribe('iso-bad', slow.url, newSecret(32));
    }
    if (!o.cold) await prewarm(runtime, events, db, subscribe, o);
    const setupMs = performance.now() - started;

    const putFailures: string[] = [];
    const puts: Promise<void>[] = [];
    const putAt = new Map<string, number>();
    let maxPutLagMs = 0;
    const put = (tenantId: string, uuid: string, scheduledAt: number, measured: boolean) => {
      const at = performance.now();
      maxPutLagMs = Math.max(maxPutLagMs, at - scheduledAt);
      if (measured) putAt.set(uuid, at);
      const detail = { tenantId, oldStatus: 'approved', newStatus: 'option_selected', [entityKeyOf(EVENT)]: { number: null, uuid, externalId: null } };
      puts.push(
        events
          .send(new PutEventsCommand({ Entries: [{ EventBusName: runtime.outputs.EventBusName, Source: SOURCE, DetailType: EVENT, Detail: JSON.stringify(detail) }] }))
          .then((out) => {
            const entry = out.Entries?.[0];
            if (!entry?.EventId) throw new Error(`${entry?.ErrorCode ?? 'no entry'}: ${entry?.ErrorMessage ?? ''}`);
          })
          .catch((error: unknown) => {
            putAt.delete(uuid);
            if (putFailures.length < 10) putFailures.push(`${uuid}: ${error instanceof Error ? error.message : String(error)}`);
          }),
      );
    };

    // Open loop over fixed slots; bounded: warm-up + window slots, nothing else.
    const badEvery = o.badShare > 0 ? Math.round(1 / o.badShare) : 0;
    const intervalMs = 1000 / o.rate;
    const warmupSlots = Math.round(o.warmupS * o.rate);
    const windowSlots = Math.round(o.durationS * o.rate);
    const tag = `${scenario}-r${round}`;
    let next = 0;
    const t0 = performance.now() + 200 + warmupSlots * intervalMs;
    // Diagnostics for --verbose: CPU of the whole process (all threads) and the main thread's worst stall, per second.
    const cpuPerSecond: number[] = [];
    const stallPerSecond: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    let lastCpu = process.cpuUsage();
    const sampler = setInterval(() => {
      const cpu = process.cpuUsage(lastCpu);
      lastCpu = process.cpuUsage();
      cpuPerSecond.push(Math.round((cpu.user + cpu.system) / 1000));
      stallPerSecond.push(Math.round(loop.max / 1e6));
      loop.reset();
    }, 1000);
    const firstSlotAt = t0 - warmupSlots * intervalMs;
    let badPut = 0;
    for (let i = 0; i < warmupSlots + windowSlots; i++) {
      const scheduledAt = firstSlotAt + i * intervalMs;
      await sleep(scheduledAt - performance.now());
      const inWindow = i >= warmupSlots;
      const slot = i - warmupSlots;
      if (badEvery > 0 && i % badEvery === badEvery - 1) {
        // The bad endpoint's slot: empty in the baseline and during the warm-up.
        if (inWindow && scenario !== 'baseline') {
          put('iso-bad', `${tag}-bad-${slot}`, scheduledAt, false);
          badPut++;
        }
        continue;
      }
      const k = next++ % o.healthyReceivers;
      put(`iso-healthy-${k + 1}`, inWindow ? `${tag}-w-${slot}` : `${tag}-warm-${i}`, scheduledAt, inWindow);
    }
    const windowEnd = t0 + windowSlots * intervalMs;
    await withinMs(Promise.allSettled(puts), 30_000);

    // Drain: until every measured event arrived, or the bound.
    const firstArrival = (uuid: string): number | undefined => {
      for (const r of healthy) {
        const at = r.firstArrival.get(uuid);
        if (at !== undefined) return at;
      }
      return undefined;
    };
    const drainUntil = Math.max(performance.now(), windowEnd) + o.drainS * 1000;
    const pending = new Set(putAt.keys());
    while (pending.size > 0 && performance.now() < drainUntil) {
      for (const uuid of pending) if (firstArrival(uuid) !== undefined) pending.delete(uuid);
      if (pending.size > 0) await sleep(100);
    }
    const drainedAt = performance.now();
    clearInterval(sampler);
    loop.disable();

    const latenciesMs: number[] = [];
    const censored: boolean[] = [];
    const worstPerSecond: number[] = Array.from({ length: Math.ceil(o.durationS) }, () => 0);
    for (const [uuid, at] of putAt) {
      const arrived = firstArrival(uuid);
      latenciesMs.push((arrived ?? drainedAt) - at);
      const second = Math.min(worstPerSecond.length - 1, Math.max(0, Math.floor((at - t0) / 1000)));
      worstPerSecond[second] = Math.max(worstPerSecond[second]!, (arrived ?? drainedAt) - at);
      censored.push(arrived === undefined);
    }
    let arrivedInWindow = 0;
    for (const r of healthy) for (const at of r.firstArrival.values()) if (at >= t0 && at < windowEnd) arrivedInWindow++;

    return {
      scenario,
      put: putAt.size,
      latenciesMs,
      censored,
      arrivedInWindow,
      windowMs: windowEnd - t0,
      badPut,
      badArrived: blackHole?.connections ?? slow?.requests ?? 0,
      putFailures,
      receiverProblems: healthy.flatMap((r) => r.problems),
      maxPutLagMs,
      setupMs,
      totalMs: 0,
      runtimeWarnings: warnings,
      worstPerSecond,
      cpuPerSecond,
      stallPerSecond,
    };
  } finally {
    events.destroy();
    dynamodb.destroy();
    await Promise.all([...healthy.map((r) => r.stop()), blackHole?.stop(), slow?.stop()]);
    await runtime.stop();
  }
}

/**
 * Starts every execution environment the load could need before anything is measured: a burst of
 * events to an endpoint answering after 1 s keeps all delivery batches (and many fan-out
 * invocations) in flight at once, so each function gets its full pool of environments. Locally a
 * cold start is a worker thread loading the bundle on the same 2 cores as everything else; in AWS
 * it runs elsewhere. Without this the bad scenarios, which need more concurrent environments than
 * the baseline, would pay cold starts in CPU that healthy deliveries share (see --cold).
 */
async function prewarm(
  runtime: LocalRuntime,
  events: EventBridgeClient,
  db: DynamoDBDocumentClient,
  subscribe: (tenantId: string, url: string, secret: string) => Promise<string>,
  o: IsolationOptions,
): Promise<void> {
  const secret = newSecret(32);
  // Answers in 800 ms: long enough to need every environment, short of the fast lane's slow mark (1 s).
  const receiver = await HealthyReceiver.start(secret, 800);
  try {
    const subscriptionId = await subscribe('iso-warm', receiver.url, secret);
    const count = DEFAULTS.deliveryBatchSize * DEFAULTS.deliveryMaxConcurrency;
    const round = async (name: string) => {
      const uuids = Array.from({ length: count }, (_, i) => `prewarm-${name}-${i}`);
      const entries = uuids.map((uuid) => ({
        EventBusName: runtime.outputs.EventBusName,
        Source: SOURCE,
        DetailType: EVENT,
        Detail: JSON.stringify({ tenantId: 'iso-warm', oldStatus: 'approved', newStatus: 'option_selected', [entityKeyOf(EVENT)]: { number: null, uuid, externalId: null } }),
      }));
      const before = receiver.firstArrival.size;
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < entries.length; i += 10) calls.push(events.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) })));
      await Promise.all(calls);
      const until = performance.now() + 60_000;
      while (receiver.firstArrival.size < before + count && performance.now() < until) await sleep(100);
      if (receiver.firstArrival.size < before + count) o.print(`  ! pre-warm (${name}): only ${receiver.firstArrival.size - before} of ${count} deliveries arrived within 60 s`);
    };
    // The fast lane's environments, then the retry lane's: marked slow, the endpoint's jobs take the retry lane.
    await round('fast');
    if (runtime.outputs.HealthTableName) {
      await new DynamoHealthStore(db, runtime.outputs.HealthTableName).markSlow('iso-warm', subscriptionId, Date.now() + 10 * 60_000);
      await sleep(DEFAULTS.healthCacheTtlMs + 200);
      await round('retry');
    }
    // Let the last answers finish and the new environments settle.
    await sleep(1500);
  } finally {
    await receiver.stop();
  }
}

// ---- statistics ------------------------------------------------------------------------------

interface Summary {
  readonly scenario: ScenarioName;
  readonly put: number;
  readonly delivered: number;
  readonly throughputPerS: number;
  readonly p50: Percentile;
  readonly p95: Percentile;
  readonly p99: Percentile;
  readonly badPut: number;
  readonly badArrived: number;
}

/** A percentile, and whether it is only a lower bound (it fell on an event still undelivered). */
export interface Percentile {
  readonly ms: number;
  readonly atLeast: boolean;
}

/** Nearest-rank percentile over samples some of which are censored (lower bounds). */
export function percentile(values: readonly number[], censored: readonly boolean[], p: number): Percentile {
  if (values.length === 0) return { ms: Number.NaN, atLeast: false };
  const order = values.map((v, i) => i).sort((a, b) => values[a]! - values[b]!);
  const rank = Math.min(order.length, Math.max(1, Math.ceil((p / 100) * order.length)));
  const index = order[rank - 1]!;
  // A censored sample's true value is larger than recorded, so it could only move up in the order:
  // if any censored sample sits at or below the rank, the percentile is a lower bound.
  const atLeast = order.slice(0, rank).some((i) => censored[i]);
  return { ms: values[index]!, atLeast };
}

function summarize(scenario: ScenarioName, runs: readonly RunResult[]): Summary {
  const latencies = runs.flatMap((r) => r.latenciesMs);
  const censored = runs.flatMap((r) => r.censored);
  const windowMs = runs.reduce((s, r) => s + r.windowMs, 0);
  return {
    scenario,
    put: runs.reduce((s, r) => s + r.put, 0),
    delivered: censored.filter((c) => !c).length,
    throughputPerS: (runs.reduce((s, r) => s + r.arrivedInWindow, 0) / windowMs) * 1000,
    p50: percentile(latencies, censored, 50),
    p95: percentile(latencies, censored, 95),
    p99: percentile(latencies, censored, 99),
    badPut: runs.reduce((s, r) => s + r.badPut, 0),
    badArrived: runs.reduce((s, r) => s + r.badArrived, 0),
  };
}

const ms = (p: Percentile) => (Number.isNaN(p.ms) ? 'n/a' : `${p.atLeast ? '≥' : ''}${p.ms >= 10_000 ? `${(p.ms / 1000).toFixed(1)} s` : `${Math.round(p.ms)} ms`}`);
const ratio = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `  ${r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')}`.trimEnd();
  return [line(header), `  ${widths.map((w) => '-'.repeat(w)).join('  ')}`, ...rows.map(line)];
}

// ---- the bench -------------------------------------------------------------------------------

export interface Verdict {
  readonly scenario: ScenarioName;
  readonly p99Ratio: number;
  /** The p99 ratio is a lower bound (the bad scenario's p99 fell on undelivered events). */
  readonly p99AtLeast: boolean;
  readonly throughputRatio: number;
  readonly pass: boolean;
}

export interface IsolationResult {
  readonly summaries: Summary[];
  readonly verdicts: Verdict[];
  /** The bench itself broke (refused puts, bad signatures): its numbers are not to be trusted. */
  readonly broken: string[];
}

export const TARGET = { p99Ratio: 1.5, throughputRatio: 0.9 } as const;

export async function benchIsolation(options: Partial<IsolationOptions> = {}): Promise<IsolationResult> {
  const o: IsolationOptions = { ...DEFAULT_OPTIONS, ...options };
  const print = o.print;
  validate(o);
  const scenarios: ScenarioName[] = ['baseline', ...o.scenarios.filter((s) => s !== 'baseline')];
  const healthyRate = o.rate * (1 - (o.badShare > 0 ? 1 / Math.round(1 / o.badShare) : 0));
  const timeout = o.httpTimeoutMs ?? DEFAULTS.httpTimeoutMs;
  print(`Isolation — healthy deliveries while ${Math.round(o.badShare * 100)} % of deliveries go to a bad endpoint`);
  print(
    `  load: open loop, ${o.rate} events/s for ${o.durationS} s per scenario (${healthyRate.toFixed(1)}/s healthy over ${o.healthyReceivers} receivers ` +
      `answering in ${o.healthyAnswerMs} ms; ${(o.rate - healthyRate).toFixed(1)}/s to the bad endpoint, none in the baseline), ${o.warmupS} s healthy warm-up, drain ≤ ${o.drainS} s`,
  );
  print(`  bad endpoints: black-hole (accepts TCP, never answers), slow (204 after ${o.slowAnswerMs} ms)`);
  print(
    `  stack: template defaults${o.httpTimeoutMs !== undefined ? `, httpTimeoutMs ${o.httpTimeoutMs} (shortened)` : ''}` +
      `${Object.keys(o.context).length ? `, context ${Object.entries(o.context).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}` +
      ` — HTTP timeout ${timeout} ms, retry schedule ${DEFAULTS.retrySchedule.join(',')} s, batch ${DEFAULTS.deliveryBatchSize}, max concurrency ${DEFAULTS.deliveryMaxConcurrency}; a fresh local runtime per scenario`,
  );
  print(`  order: ${o.rounds} round(s), rotating: ${Array.from({ length: o.rounds }, (_, r) => rotate(scenarios, r).join(' → ')).join(' | ')}`);
  print('');

  const runs = new Map<ScenarioName, RunResult[]>(scenarios.map((s) => [s, []]));
  const broken: string[] = [];
  for (let r = 0; r < o.rounds; r++) {
    for (const scenario of rotate(scenarios, r)) {
      const started = performance.now();
      const result = await runScenario(scenario, r, o);
      const totalMs = performance.now() - started;
      runs.get(scenario)!.push({ ...result, totalMs });
      const missing = result.censored.filter(Boolean).length;
      print(
        `  ran ${scenario.padEnd(10)} round ${r + 1}: ${result.put} healthy events put, ${result.put - missing} delivered` +
          `${missing ? `, ${missing} not delivered within the drain` : ''}; ${result.badPut} to the bad endpoint (${result.badArrived} reached it); ` +
          `put lag ≤ ${Math.round(result.maxPutLagMs)} ms; set-up ${(result.setupMs / 1000).toFixed(1)} s, total ${(totalMs / 1000).toFixed(1)} s`,
      );
      for (const f of result.putFailures) broken.push(`${scenario}: PutEvents failed for ${f}`);
      for (const p of result.receiverProblems) broken.push(`${scenario}: a healthy receiver refused a request: ${p}`);
      if (o.verbose) {
        print(`    slowest healthy latency per second of the window (ms): ${result.worstPerSecond.map((v) => Math.round(v)).join(' ')}`);
        print(`    CPU ms per second, all threads, from the warm-up on: ${result.cpuPerSecond.join(' ')}`);
        print(`    main thread's worst stall per second (ms): ${result.stallPerSecond.join(' ')}`);
        for (const w of result.runtimeWarnings.slice(0, 20)) print(`    ${w}`);
      }
    }
  }

  const summaries = scenarios.map((s) => summarize(s, runs.get(s)!));
  const base = summaries[0]!;
  print('');
  print('Healthy deliveries per scenario (latency = arrival at the receiver − PutEvents call; ≥ = a lower bound, the percentile fell on events still undelivered)');
  for (const line of table(
    ['scenario', 'healthy put', 'delivered', 'throughput', 'p50', 'p95', 'p99', 'bad put', 'bad reached'],
    summaries.map((s) => [s.scenario, String(s.put), String(s.delivered), `${s.throughputPerS.toFixed(1)}/s`, ms(s.p50), ms(s.p95), ms(s.p99), String(s.badPut), String(s.badArrived)]),
  )) {
    print(line);
  }

  const verdicts: Verdict[] = summaries.slice(1).map((s) => {
    const p99Ratio = s.p99.ms / base.p99.ms;
    const throughputRatio = s.throughputPerS / base.throughputPerS;
    return {
      scenario: s.scenario,
      p99Ratio,
      p99AtLeast: s.p99.atLeast,
      throughputRatio,
      pass: !s.p99.atLeast && p99Ratio <= TARGET.p99Ratio && throughputRatio >= TARGET.throughputRatio,
    };
  });
  print('');
  print(`Ratios against the baseline of this run (target: p99 ≤ ${TARGET.p99Ratio}×, throughput ≥ ${TARGET.throughputRatio}×)`);
  for (const v of verdicts) {
    const p99Ok = !v.p99AtLeast && v.p99Ratio <= TARGET.p99Ratio;
    const tpOk = v.throughputRatio >= TARGET.throughputRatio;
    print(
      `  ${v.scenario.padEnd(10)}  p99 ratio ${v.p99AtLeast ? '≥' : ''}${ratio(v.p99Ratio)}× ${p99Ok ? 'PASS' : 'FAIL'}` +
        `   throughput ratio ${ratio(v.throughputRatio)}× ${tpOk ? 'PASS' : 'FAIL'}   → ${v.pass ? 'PASS' : 'FAIL'}`,
    );
  }
  if (base.p99.atLeast) print('  ! the baseline itself left events undelivered: the ratios are not meaningful (machine overloaded?)');
  for (const b of broken) print(`  ! ${b}`);
  return { summaries, verdicts, broken };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const n = by % items.length;
  return [...items.slice(n), ...items.slice(0, n)];
}

function validate(o: IsolationOptions): void {
  const problems: string[] = [];
  const positive = (name: string, v: number, max: number) => {
    if (!Number.isFinite(v) || v <= 0 || v > max) problems.push(`${name} must be a number above 0 and at most ${max}, got ${v}`);
  };
  positive('--rate', o.rate, 1000);
  positive('--duration', o.durationS, 600);
  positive('--drain', o.drainS, 600);
  positive('--healthy-receivers', o.healthyReceivers, 100);
  positive('--slow-ms', o.slowAnswerMs, 60_000);
  positive('--rounds', o.rounds, 20);
  if (!Number.isInteger(o.rounds) || !Number.isInteger(o.healthyReceivers)) problems.push('--rounds and --healthy-receivers must be whole numbers');
  if (!(o.warmupS >= 0 && o.warmupS <= 60)) problems.push(`--warmup must be 0–60 s, got ${o.warmupS}`);
  if (!(o.healthyAnswerMs >= 0 && o.healthyAnswerMs <= 10_000)) problems.push(`--healthy-ms must be 0–10000, got ${o.healthyAnswerMs}`);
  if (!(o.badShare > 0 && o.badShare <= 0.5)) problems.push(`--bad-share must be above 0 and at most 0.5, got ${o.badShare}`);
  for (const s of o.scenarios) if (!SCENARIOS.includes(s)) problems.push(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);
  if (problems.length) throw new Error(`isolation bench: ${problems.join('; ')}`);
}

/** Options from the command line (`--rate 30 --duration 20 …`); `--help` prints them. */
export function parseIsolationArgs(argv: readonly string[]): (Partial<IsolationOptions> & { check: boolean }) | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      'bad-share': { type: 'string' },
      'healthy-receivers': { type: 'string' },
      'healthy-ms': { type: 'string' },
      'slow-ms': { type: 'string' },
      'http-timeout-ms': { type: 'string' },
      context: { type: 'string', short: 'c', multiple: true },
      rounds: { type: 'string' },
      scenarios: { type: 'string' },
      verbose: { type: 'boolean' },
      cold: { type: 'boolean' },
      check: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const context: Record<string, string> = {};
  for (const kv of values.context ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--context takes key=value, got "${kv}"`);
    context[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const entries: Partial<Record<keyof IsolationOptions, unknown>> = {
    rate: num(values.rate),
    durationS: num(values.duration),
    warmupS: num(values.warmup),
    drainS: num(values.drain),
    badShare: num(values['bad-share']),
    healthyReceivers: num(values['healthy-receivers']),
    healthyAnswerMs: num(values['healthy-ms']),
    slowAnswerMs: num(values['slow-ms']),
    httpTimeoutMs: num(values['http-timeout-ms']),
    rounds: num(values.rounds),
    scenarios: values.scenarios?.split(',').map((s) => s.trim()),
    verbose: values.verbose,
    cold: values.cold,
    context,
  };
  const defined = Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as Partial<IsolationOptions>;
  return { ...defined, check: values.check ?? false };
}

const HELP = `npm run bench:isolation -- [options]      (= tsx bench/isolation.ts)
  --rate N              events/s in the window, bad share included (default ${DEFAULT_OPTIONS.rate})
  --duration S          measured window per scenario (default ${DEFAULT_OPTIONS.durationS})
  --warmup S            healthy-only load before the window (default ${DEFAULT_OPTIONS.warmupS})
  --drain S             longest wait for the window's events after it (default ${DEFAULT_OPTIONS.drainS})
  --bad-share F         share of deliveries to the bad endpoint (default ${DEFAULT_OPTIONS.badShare})
  --healthy-receivers N (default ${DEFAULT_OPTIONS.healthyReceivers})   --healthy-ms MS (default ${DEFAULT_OPTIONS.healthyAnswerMs})   --slow-ms MS (default ${DEFAULT_OPTIONS.slowAnswerMs})
  --http-timeout-ms MS  override the stack's httpTimeoutMs (default: the stack default, ${DEFAULTS.httpTimeoutMs})
  -c, --context k=v     further CDK context for the stack (repeatable)
  --rounds N            run every scenario N times, order rotating; samples pooled (default 1)
  --scenarios LIST      baseline,black-hole,slow (the baseline always runs)
  --cold                do not pre-start the functions' execution environments
  --verbose             print the runtime's warnings
  --check               exit 1 when a ratio misses its target`;

/** The command line: `tsx bench/isolation.ts [options]` (see HELP). */
export async function runFromCli(argv: readonly string[]): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    const parsed = parseIsolationArgs(argv);
    if (parsed === 'help') {
      console.log(HELP);
      return;
    }
    const { check, ...options } = parsed;
    const started = performance.now();
    const result = await benchIsolation(options);
    console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (result.broken.length > 0) process.exitCode = 1;
    else if (check && result.verdicts.some((v) => !v.pass)) process.exitCode = 1;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    // Everything is closed by now; should a stray handle remain, do not hang the shell on it.
    setTimeout(() => {
      console.error('isolation bench: something was still open 10 s after the end; exiting');
      process.exit(process.exitCode ?? 0);
    }, 10_000).unref();
  }
}

/**
 * Runs the bench in a child `node` that registers tsx programmatically, as bin/statushooks.js
 * does, and returns its exit status. Why a child: under the tsx CLI (or `node --import tsx`) the
 * loader sits in the exec arguments, and worker threads inherit those: every Lambda execution
 * environment of the local runtime would load tsx and pass the function bundle through its hooks,
 * seconds of CPU per cold start on this machine, and the bench would measure tsx. A programmatic
 * registration is not inherited by workers.
 */
export function spawnIsolationBench(argv: readonly string[]): number {
  const launch = "import('tsx').then(() => require(process.argv[1]).runFromCli(process.argv.slice(2)))";
  const child = spawnSync(process.execPath, ['-e', launch, __filename, ...argv], { stdio: 'inherit' });
  if (child.error) throw child.error;
  return child.status ?? 1;
}

if (require.main === module) {
  if (process.execArgv.some((a) => a.includes('tsx'))) process.exitCode = spawnIsolationBench(process.argv.slice(2));
  else void runFromCli(process.argv.slice(2));
}
