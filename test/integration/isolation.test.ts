/**
 * Endpoint isolation (docs/architecture.md §7) through the running pipeline: a black-hole
 * endpoint and a slow one do not delay a healthy one, the slow one still gets its deliveries (in
 * the retry lane), and a subscription's rate limit holds across concurrent invocations without
 * costing attempts.
 */
import http from 'node:http';
import type net from 'node:net';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { EventName } from '../../lambdas/core/catalog';
import { DynamoHealthStore } from '../../lambdas/adapters/health-store';
import { type Harness, Receiver, type StatusChangeInput, functionLogEntries, putChanges, startHarness, subscribe, verify, waitFor } from './helpers';

jest.setTimeout(120_000);

const HTTP_TIMEOUT_MS = 10_000;
/**
 * The request timeouts in this run (the fast lane's default is 3 000 ms): the same 10 s in both lanes.
 * Long, so the ordering asserted below (every healthy delivery before the black hole's first
 * attempt gives up) holds on a loaded machine: 60 healthy deliveries took up to 5.1 s there.
 */
const FAST_LANE_TIMEOUT_MS = 10_000;
const SLOW_ANSWER_MS = 4_000;
let h: Harness;
const servers: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  h = await startHarness({
    httpTimeoutMs: HTTP_TIMEOUT_MS,
    retrySchedule: [1],
    maxAttempts: 3,
    context: { fastLaneTimeoutMs: String(FAST_LANE_TIMEOUT_MS), breakerThreshold: '3', breakerProbeIntervalSeconds: '2' },
  });
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await h?.stop();
});

/**
 * An endpoint that accepts connections and reads requests but answers after `answerAfterMs`
 * (never, when undefined). Records when each request arrived, when the sender gave up on it (the
 * connection closed before an answer) and which answers were completed.
 */
class SlowEndpoint {
  readonly arrived: { id: string; at: number }[] = [];
  readonly abandonedAt: number[] = [];
  readonly answered = new Set<string>();
  private readonly sockets = new Set<net.Socket>();
  private readonly server: http.Server;
  url = '';

  private constructor(private readonly answerAfterMs: number | undefined) {
    this.server = http.createServer((req, res) => {
      const id = String(req.headers['webhook-id'] ?? '');
      req.resume();
      this.arrived.push({ id, at: Date.now() });
      let done = false;
      res.on('close', () => {
        if (!done) this.abandonedAt.push(Date.now());
      });
      if (this.answerAfterMs === undefined) return;
      const timer = setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200).end('ok', () => {
          done = true;
          this.answered.add(id);
        });
      }, this.answerAfterMs);
      res.on('close', () => clearTimeout(timer));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(answerAfterMs?: number): Promise<SlowEndpoint> {
    const e = new SlowEndpoint(answerAfterMs);
    await new Promise<void>((resolve) => e.server.listen(0, '127.0.0.1', () => resolve()));
    e.url = `http://127.0.0.1:${(e.server.address() as net.AddressInfo).port}/hook`;
    servers.push(e);
    return e;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

const EVENT: EventName = 'sales_order.status.changed';
const change = (tenantId: string, i: number): StatusChangeInput => ({
  event: EVENT,
  tenantId,
  oldStatus: 'open',
  newStatus: `status_${i}`,
  uuid: `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
});

test('a black-hole endpoint and a slow one do not delay a healthy one; the slow one still gets every delivery', async () => {
  const healthy = await Receiver.start();
  servers.push(healthy);
  const blackHole = await SlowEndpoint.start();
  const slow = await SlowEndpoint.start(SLOW_ANSWER_MS);
  const healthySub = await subscribe(h, { tenantId: 'iso-healthy', url: healthy.url });
  await subscribe(h, { tenantId: 'iso-black-hole', url: blackHole.url });
  const slowSub = await subscribe(h, { tenantId: 'iso-slow', url: slow.url });

  // A burst: 60 healthy deliveries with 6 to the black hole and 6 to the slow endpoint among them,
  // more bad jobs than the fast lane has slots (10).
  const changes: StatusChangeInput[] = [];
  for (let i = 0; i < 72; i++) {
    const tenant = i % 12 === 5 ? 'iso-black-hole' : i % 12 === 11 ? 'iso-slow' : 'iso-healthy';
    changes.push(change(tenant, i));
  }
  await putChanges(h, changes);

  await waitFor(() => healthy.deliveredIds().size === 60, {
    timeoutMs: 30_000,
    describe: () => `the healthy receiver got ${healthy.deliveredIds().size} of 60 deliveries`,
  });
  const firstBlackHoleGiveUp = await waitFor(() => (blackHole.abandonedAt.length > 0 ? Math.min(...blackHole.abandonedAt) : undefined), {
    timeoutMs: 30_000,
    describe: () => `the sender never gave up on a black-hole request (${blackHole.arrived.length} arrived)`,
  });

  // Ordering, not durations: every healthy delivery of the burst arrived before the first
  // black-hole attempt had timed out.
  const lastHealthy = Math.max(...healthy.requests.map((r) => r.at));
  expect(lastHealthy).toBeLessThan(firstBlackHoleGiveUp);
  expect(blackHole.arrived.length).toBeGreaterThan(0);
  for (const request of healthy.requests) expect(() => verify(healthySub.secret, request)).not.toThrow();

  // Slow is not dead: each of its 6 deliveries is answered, within the retry lane's longer timeout.
  await waitFor(() => slow.answered.size === 6, {
    timeoutMs: 60_000,
    describe: () => `the slow endpoint completed ${slow.answered.size} of 6 deliveries (${slow.arrived.length} requests arrived)`,
  });
  // Once it was seen to be slow (its first requests went unanswered for 1 s), its next jobs skip
  // the fast lane: they are served by the retry lane, and still answered.
  const health = new DynamoHealthStore(h.db, h.runtime.outputs.HealthTableName!);
  await waitFor(async () => ((await health.get('iso-slow', slowSub.subscriptionId))?.slowUntil ?? 0) > Date.now(), {
    timeoutMs: 10_000,
    describe: () => 'the slow endpoint was never marked slow',
  });
  const later = await putChanges(h, [change('iso-slow', 100), change('iso-slow', 101), change('iso-slow', 102)]);
  await waitFor(() => slow.answered.size === 9, {
    timeoutMs: 60_000,
    describe: () => `the slow endpoint completed ${slow.answered.size} of 9 deliveries`,
  });
  const laneOf = (eventId: string) =>
    functionLogEntries(h).find((e) => e.message === 'delivery attempt' && e.eventId === eventId && e.outcome === 'delivered')?.lane;
  await waitFor(() => later.every((id) => laneOf(id) !== undefined), { timeoutMs: 10_000, describe: () => 'the later deliveries were not logged' });
  expect(later.map(laneOf)).toEqual(['retry', 'retry', 'retry']);
});

test('a rate limit holds across concurrent invocations: jobs wait, are not failed and cost no attempt', async () => {
  const receiver = await Receiver.start();
  servers.push(receiver);
  const sub = await subscribe(h, { tenantId: 'iso-limited', url: receiver.url });
  const LIMIT = 2;
  await h.db.send(new PutCommand({ TableName: h.runtime.outputs.SubscriptionsTableName, Item: { ...sub, maxRequestsPerSecond: LIMIT } }));

  const N = 14;
  await putChanges(h, Array.from({ length: N }, (_, i) => change('iso-limited', 100 + i)));
  await waitFor(() => receiver.deliveredIds().size === N, {
    timeoutMs: 60_000,
    describe: () => `the rate-limited receiver got ${receiver.deliveredIds().size} of ${N}`,
  });

  // Each delivery once, at its first attempt.
  expect(receiver.requests).toHaveLength(N);
  const attempts = await waitFor(
    () => {
      const logged = functionLogEntries(h).filter((e) => e.message === 'delivery attempt' && e.tenantId === 'iso-limited');
      return logged.length >= N ? logged : undefined;
    },
    { timeoutMs: 10_000, describe: () => 'the function log does not show every attempt yet' },
  );
  expect(attempts.map((e) => e.attempt)).toEqual(Array<number>(N).fill(1));
  // Across every instance, at most LIMIT requests used a token of any one second ...
  const perSecond = new Map<unknown, number>();
  for (const e of attempts) perSecond.set(e.rateSecond, (perSecond.get(e.rateSecond) ?? 0) + 1);
  expect([...perSecond.keys()].every((k) => typeof k === 'number')).toBe(true);
  expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(LIMIT);
  // ... so the receiver saw them spread: N requests need at least (N - LIMIT) / LIMIT seconds.
  const arrivals = receiver.requests.map((r) => r.at).sort((a, b) => a - b);
  expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(((N - LIMIT) / LIMIT - 1) * 1000);
  // Jobs beyond the limit waited rather than failed.
  expect(functionLogEntries(h).some((e) => e.tenantId === 'iso-limited' && typeof e.reason === 'string' && e.reason.includes('rate limit of 2 requests per second'))).toBe(true);
});
