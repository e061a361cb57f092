/**
 * An event fanned out more than once (a Lambda retry after a partly failed fan-out, a duplicate
 * invocation, an operator's redrive or replay) against a real DynamoDB emulator (dynalite) with the
 * delivery log's table: an existing record is never replaced, so no attempt already made is lost,
 * and an automatic repeat does not queue again the deliveries already under way.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeliveryLogTable, type Dynalite, startDynalite } from '../dynalite';
import { DynamoDeliveryLog } from '../../lambdas/adapters/delivery-log-store';
import { attemptRecord, factsFromJob, waitingRequeue, type DeliveryState } from '../../lambdas/core/delivery-log';
import type { DeliveryJob } from '../../lambdas/core/job';
import { silentLog, type MetricName } from '../../lambdas/core/ports';
import { fanOut, type FanOutPorts, type FanOutResult } from '../../lambdas/core/route-event';
import { newSecret, type Subscription } from '../../lambdas/core/subscriptions';

const TABLE = 'DeliveryLog';
let dynamo: Dynalite;
let log: DynamoDeliveryLog;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createDeliveryLogTable(dynamo.client, TABLE);
  log = new DynamoDeliveryLog(DynamoDBDocumentClient.from(dynamo.client), TABLE, 30);
});

afterAll(() => dynamo?.close());

let serial = 0;
const sub = (tenantId: string, i: number): Subscription => ({ tenantId, subscriptionId: `sub_${String(i).padStart(2, '0')}`, url: `https://example.com/hooks/${i}`, events: ['*'], secret: newSecret(), state: 'active' });

function scenario(subscriptions: number) {
  const n = ++serial;
  const tenantId = `repeat-shop-${n}`;
  const event = {
    version: '0',
    id: `evt-repeat-${n}`,
    'detail-type': 'sales_order.status.changed',
    source: 'orders.cloud',
    time: '2026-12-04T09:59:00Z',
    detail: { tenantId, oldStatus: 'open', newStatus: 'shipped', salesOrder: { uuid: `u-${n}`, number: `SO-${n}`, externalId: null } },
  };
  const queued: DeliveryJob[][] = [];
  const counts: Partial<Record<MetricName, number>> = {};
  let clock = Date.parse('2026-12-04T10:00:00.000Z');
  const ports = (extra: Partial<FanOutPorts> = {}): FanOutPorts => ({
    subscriptionsOf: async () => ({ subscriptions: Array.from({ length: subscriptions }, (_, i) => sub(tenantId, i)), invalid: [] }),
    enqueue: async (jobs) => void queued.push([...jobs]),
    park: async () => undefined,
    deliveryLog: log,
    now: () => new Date((clock += 60_000)),
    log: silentLog,
    metrics: { count: (m, v = 1) => void (counts[m] = (counts[m] ?? 0) + v), milliseconds: () => undefined, countForTenant: () => undefined },
    ...extra,
  });
  /** What a delivery function writes after an attempt. */
  const attempted = async (job: DeliveryJob, attempt: number, statusCode: number, state: DeliveryState) => {
    const at = new Date((clock += 1_000));
    const result = { kind: 'response', status: statusCode, durationMs: 12, response: statusCode < 300 ? 'ok' : 'nope' } as const;
    await log.logUpdate({ facts: factsFromJob(job), state, at: at.toISOString(), attempt: attemptRecord(attempt, at, result, 'fast'), ...(state === 'retrying' ? { reason: `HTTP ${statusCode}` } : {}) });
  };
  return { tenantId, event, queued, counts, ports, attempted };
}

const ids = (jobs: readonly DeliveryJob[]) => jobs.map((j) => j.deliveryId).sort();
const queuedIds = (r: FanOutResult) => (r.status === 'queued' ? [...r.deliveryIds].sort() : []);

/** Fan-out ports whose SQS takes the first two chunks of ten and refuses the rest, as a partly failed SendMessageBatch run does. */
function sqsTakingTwenty(s: ReturnType<typeof scenario>) {
  const accepted: DeliveryJob[] = [];
  let all: DeliveryJob[] = [];
  const failing = s.ports({
    enqueue: async (jobs) => {
      all = [...jobs];
      accepted.push(...jobs.slice(0, 20));
      throw new Error('5 delivery jobs were not queued after 3 tries: ServiceUnavailable');
    },
  });
  return { accepted, offered: () => all, failing };
}

test('a Lambda retry after a partly failed fan-out keeps every attempt made and queues only what was not under way', async () => {
  const s = scenario(25);
  // The first fan-out: its records are written, then SQS accepts two chunks of ten and refuses the third.
  const { accepted, offered, failing } = sqsTakingTwenty(s);
  await expect(fanOut(s.event, failing)).rejects.toThrow('not queued');
  const all = offered();
  expect(all).toHaveLength(25);
  // Before Lambda retries (a minute later), the accepted jobs were worked on: 10 delivered, 5 failed
  // once and wait for their next attempt, 5 not tried yet.
  for (const job of accepted.slice(0, 10)) await s.attempted(job, 1, 200, 'delivered');
  for (const job of accepted.slice(10, 15)) await s.attempted(job, 1, 503, 'retrying');
  const before = await Promise.all(all.map((j) => log.get(s.tenantId, j.deliveryId)));

  const retry = await fanOut(s.event, s.ports());
  const notUnderWay = [...accepted.slice(15), ...all.slice(20)];
  // A Lambda retry is no operator's act: nothing is noted as queued again.
  for (const job of all) expect((await log.get(s.tenantId, job.deliveryId))!.requeues).toBeUndefined();
  // Queued again: the five never accepted, and the five accepted but not tried (their fate is unknown).
  expect(s.queued.map(ids)).toEqual([ids(notUnderWay)]);
  expect(queuedIds(retry)).toEqual(ids(notUnderWay));
  expect(retry.status === 'queued' && [...(retry.underWay ?? [])].sort()).toEqual(ids(accepted.slice(0, 15)));
  expect(s.counts.DeliveriesQueued).toBe(10);

  for (const [i, job] of all.entries()) {
    const record = (await log.get(s.tenantId, job.deliveryId))!;
    const earlier = before[i]!;
    // The record is continued, never replaced: created when first queued, attempts kept.
    expect(record.createdAt).toBe(earlier.createdAt);
    expect(record.attempts).toEqual(earlier.attempts);
    if (i < 10) expect([record.state, record.attempts.map((a) => a.statusCode)]).toEqual(['delivered', [200]]);
    else if (i < 15) expect([record.state, record.reason, record.attempts.map((a) => a.statusCode)]).toEqual(['retrying', 'HTTP 503', [503]]);
    else expect([record.state, record.attempts]).toEqual(['pending', []]);
  }
  // The listing still shows each delivery once.
  const page = await log.list({ tenantId: s.tenantId, limit: 100 });
  expect(page.records.map((r) => r.deliveryId).sort()).toEqual(ids(all));
});

test('a repeated fan-out with nothing under way yet queues every job again (at least once, same webhook-ids)', async () => {
  const s = scenario(3);
  const first = await fanOut(s.event, s.ports());
  const again = await fanOut(s.event, s.ports());
  expect(queuedIds(again)).toEqual(queuedIds(first));
  expect(again.status === 'queued' && again.underWay).toBeUndefined();
  expect(s.queued.map(ids)).toEqual([queuedIds(first), queuedIds(first)]);
});

test.each<[string, object, Partial<FanOutPorts>, string]>([
  ["an operator's fan-out DLQ redrive", {}, { operatorRedrive: true }, 'fan-out redrive'],
  ['an archive replay', { 'replay-name': 'statushooks-2026-12-04' }, {}, 'replay statushooks-2026-12-04'],
])('%s queues every delivery again, and each record turns pending with its earlier attempts kept and the act noted', async (_what, envelope, extra, by) => {
  const s = scenario(2);
  await fanOut(s.event, s.ports());
  const [delivered, parked] = s.queued[0]!;
  await s.attempted(delivered!, 1, 500, 'retrying');
  await s.attempted(delivered!, 2, 200, 'delivered');
  await s.attempted(parked!, 1, 410, 'parked');

  const redriven = await fanOut({ ...s.event, ...envelope }, s.ports(extra));
  expect(queuedIds(redriven)).toEqual(ids([delivered!, parked!]));
  expect(s.queued[1]!.map((j) => j.recorded)).toEqual([true, true]);
  const first = (await log.get(s.tenantId, delivered!.deliveryId))!;
  expect([first.state, first.attempts.map((a) => [a.attempt, a.statusCode])]).toEqual(['pending', [[1, 500], [2, 200]]]);
  const second = (await log.get(s.tenantId, parked!.deliveryId))!;
  expect([second.state, second.attempts.map((a) => a.statusCode)]).toEqual(['pending', [410]]);
  // What queued them again is on each record, for `deliveries get`; the first fan-out noted nothing.
  for (const record of [first, second]) {
    expect(record.requeues).toEqual([{ at: expect.any(String), by }]);
    expect(waitingRequeue(record)).toEqual(record.requeues![0]);
  }
  // No longer listed as parked.
  expect((await log.list({ tenantId: s.tenantId, state: 'parked', limit: 10 })).records).toEqual([]);
});

test('an event whose records are missing (expired, or never written) gets new pending records', async () => {
  const s = scenario(2);
  const result = await fanOut(s.event, s.ports());
  const records = await Promise.all(queuedIds(result).map((id) => log.get(s.tenantId, id)));
  expect(records.map((r) => [r?.state, r?.attempts])).toEqual([
    ['pending', []],
    ['pending', []],
  ]);
});

test("a Lambda retry of a replay's partly failed fan-out does not queue again what that replay already set going; the next replay or a redrive queues everything", async () => {
  const s = scenario(25);
  // The original fan-out, long before: every delivery went out.
  await fanOut(s.event, s.ports());
  for (const job of s.queued[0]!) await s.attempted(job, 1, 200, 'delivered');
  // An operator replays the archive: the replayed event's fan-out queues two chunks of ten, then SQS refuses the third.
  const replayed = { ...s.event, 'replay-name': 'statushooks-20261204T110000-a1b2c3' };
  const { accepted, offered, failing } = sqsTakingTwenty(s);
  await expect(fanOut(replayed, failing)).rejects.toThrow('not queued');
  const all = offered();
  expect(all).toHaveLength(25);
  // Before Lambda retries the replayed event: 15 of the accepted jobs were delivered (again), 5 not tried yet.
  for (const job of accepted.slice(0, 15)) await s.attempted(job, 2, 200, 'delivered');

  const retry = await fanOut(replayed, s.ports());
  const notUnderWay = [...accepted.slice(15), ...all.slice(20)];
  // The retry queues only the deliveries this replay has not set going: no endpoint gets a third copy.
  expect(queuedIds(retry)).toEqual(ids(notUnderWay));
  expect(retry.status === 'queued' && [...(retry.underWay ?? [])].sort()).toEqual(ids(accepted.slice(0, 15)));
  for (const job of accepted.slice(0, 15)) expect((await log.get(s.tenantId, job.deliveryId))!.state).toBe('delivered');

  // Another replay of the same event is a new operator act: every delivery is queued again.
  const next = await fanOut({ ...s.event, 'replay-name': 'statushooks-20261204T120000-d4e5f6' }, s.ports());
  expect(queuedIds(next)).toEqual(ids(all));
  // So is a redrive of the replayed event from the fan-out DLQ.
  for (const job of all) await s.attempted(job, 3, 200, 'delivered');
  const redriven = await fanOut(replayed, s.ports({ operatorRedrive: true }));
  expect(queuedIds(redriven)).toEqual(ids(all));
});
