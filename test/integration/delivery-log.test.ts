/**
 * The delivery log (docs/architecture.md §8) through the running pipeline: fan-out records each
 * queued delivery, the lanes append every attempt with its status, duration, error and response
 * snippet, and a parked or dropped delivery says why. A log that cannot be written (its table
 * unavailable or throttled) never loses or holds back a delivery.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryLog } from '../../lambdas/adapters/delivery-log-store';
import type { DeliveryRecord } from '../../lambdas/core/delivery-log';
import type { EventName } from '../../lambdas/core/catalog';
import { type Answer, type Harness, Receiver, functionMetricRecords, putChanges, startHarness, subscribe, waitFor, waitForLogLine } from './helpers';

jest.setTimeout(90_000);

const MAX_ATTEMPTS = 3;
const RETENTION_DAYS = 7;
let h: Harness;
let log: DynamoDeliveryLog;
const servers: Receiver[] = [];

/** A receiver answering its n-th request (of any webhook-id) with `reply(n)`. */
async function receiverAnswering(reply: (n: number) => Answer): Promise<Receiver> {
  let n = 0;
  const r = await Receiver.start(() => reply(++n));
  servers.push(r);
  return r;
}

beforeAll(async () => {
  h = await startHarness({
    retrySchedule: [1, 1, 1, 1],
    maxAttempts: MAX_ATTEMPTS,
    httpTimeoutMs: 1_500,
    context: { deliveryLogRetentionDays: String(RETENTION_DAYS), fastLaneTimeoutMs: '1000', subscriptionCacheTtlMs: '0' },
  });
  log = new DynamoDeliveryLog(h.db, h.runtime.outputs.DeliveryLogTableName!, RETENTION_DAYS);
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await h?.stop();
});

const EVENT: EventName = 'return_order.status.changed';
let counter = 0;

async function send(endpoint: Receiver) {
  const n = ++counter;
  const tenantId = `log-shop-${n}`;
  const sub = await subscribe(h, { tenantId, url: endpoint.url });
  const uuid = `c0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'approved', newStatus: 'option_selected', uuid, number: `1000${n}` }]);
  return { tenantId, sub, uuid };
}

/** Waits for the endpoint's first request: its webhook-id is the delivery id. */
async function deliveryIdOf(endpoint: Receiver): Promise<string> {
  const first = await waitFor(() => endpoint.requests[0], { timeoutMs: 20_000, describe: () => `no request reached ${endpoint.url}\n${h.logs.slice(-6).join('\n')}` });
  return first.headers['webhook-id']!;
}

async function recordIn(tenantId: string, deliveryId: string, state: DeliveryRecord['state']): Promise<DeliveryRecord> {
  let last: DeliveryRecord | undefined;
  return waitFor(
    async () => {
      last = await log.get(tenantId, deliveryId);
      return last?.state === state ? last : undefined;
    },
    { timeoutMs: 30_000, describe: () => `record of ${deliveryId} not ${state}: ${JSON.stringify(last)}\n${h.logs.slice(-6).join('\n')}` },
  );
}

test('a delivery that fails twice and then succeeds shows its three attempts, with status codes and response snippets', async () => {
  const endpoint = await receiverAnswering((n) => (n <= 2 ? { status: 500, body: `database is down (try ${n})` } : { status: 200, body: '{"received":true}' }));
  const { tenantId, sub, uuid } = await send(endpoint);
  const deliveryId = await deliveryIdOf(endpoint);

  const record = await recordIn(tenantId, deliveryId, 'delivered');
  expect(record.attempts.map((a) => [a.attempt, a.statusCode, a.error, a.response])).toEqual([
    [1, 500, null, 'database is down (try 1)'],
    [2, 500, null, 'database is down (try 2)'],
    [3, 200, null, '{"received":true}'],
  ]);
  expect(record.attempts.map((a) => a.lane)).toEqual(['fast', 'retry', 'retry']);
  // In the order they happened, each with its duration.
  const times = record.attempts.map((a) => Date.parse(a.at));
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  for (const a of record.attempts) expect(a.durationMs).toBeGreaterThanOrEqual(0);
  expect(record).toMatchObject({
    tenantId,
    deliveryId,
    subscriptionId: sub.subscriptionId,
    event: EVENT,
    entityUuid: uuid,
    lastStatusCode: 200,
    url: endpoint.url,
  });
  expect(record.reason).toBeUndefined();
  // The exact bytes the endpoint received, every time.
  expect(endpoint.requests.map((r) => r.body)).toEqual([record.body, record.body, record.body]);
  // Expires by TTL the configured days after its last change.
  const expected = Math.floor(Date.parse(record.updatedAt) / 1000) + RETENTION_DAYS * 86_400;
  expect(Math.abs(record.expiresAt - expected)).toBeLessThanOrEqual(1);
});

test('a delivery whose attempt is still in flight is pending; a timeout is recorded as the error, then the retry', async () => {
  let release = false;
  const endpoint = await receiverAnswering((n) => (n === 1 && !release ? 'hang' : { status: 204 }));
  const { tenantId } = await send(endpoint);
  const deliveryId = await deliveryIdOf(endpoint);
  // Fan-out wrote the record before queueing the job; the attempt has not ended yet.
  expect((await log.get(tenantId, deliveryId))?.state).toBe('pending');
  release = true;
  const record = await recordIn(tenantId, deliveryId, 'delivered');
  expect(record.attempts[0]).toMatchObject({ attempt: 1, statusCode: null, response: null });
  expect(record.attempts[0]!.error).toMatch(/^timeout: no response within 1000 ms/);
  expect(record.attempts[1]).toMatchObject({ attempt: 2, statusCode: 204, error: null, response: null });
});

test('binary and long response bodies are kept as a note and as the first 1 KB', async () => {
  const long = 'x'.repeat(5000);
  const binary = await receiverAnswering(() => ({ status: 200, body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]) }));
  const big = await receiverAnswering(() => ({ status: 200, body: long }));
  const a = await send(binary);
  const b = await send(big);
  const [binaryRecord, bigRecord] = await Promise.all([
    deliveryIdOf(binary).then((id) => recordIn(a.tenantId, id, 'delivered')),
    deliveryIdOf(big).then((id) => recordIn(b.tenantId, id, 'delivered')),
  ]);
  expect(binaryRecord.attempts[0]!.response).toBe('[binary: 6 bytes]');
  expect(bigRecord.attempts[0]!.response).toBe(`${'x'.repeat(1024)}… [5000 bytes in all]`);
});

test('a delivery that keeps failing is parked, with the reason and every attempt', async () => {
  const endpoint = await receiverAnswering(() => ({ status: 503, body: 'maintenance' }));
  const { tenantId } = await send(endpoint);
  const deliveryId = await deliveryIdOf(endpoint);
  const record = await recordIn(tenantId, deliveryId, 'parked');
  expect(record.attempts.map((a) => a.statusCode)).toEqual([503, 503, 503]);
  expect(record.reason).toBe('failed 3 attempts; last: HTTP 503');
  expect(record.lastStatusCode).toBe(503);
});

test('a delivery whose subscription was paused before its retry is dropped, with the reason', async () => {
  const endpoint = await receiverAnswering(() => ({ status: 500 }));
  const { tenantId, sub } = await send(endpoint);
  const deliveryId = await deliveryIdOf(endpoint);
  await recordIn(tenantId, deliveryId, 'retrying');
  await h.db.send(
    new UpdateCommand({
      TableName: h.runtime.outputs.SubscriptionsTableName,
      Key: { tenantId, subscriptionId: sub.subscriptionId },
      UpdateExpression: 'SET #s = :paused',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':paused': 'paused' },
    }),
  );
  const record = await recordIn(tenantId, deliveryId, 'dropped');
  expect(record.reason).toBe('subscription is paused');
  expect(record.attempts).toHaveLength(1);
});

const logFailures = (service: string) =>
  functionMetricRecords(h)
    .filter((r) => r.service === service)
    .reduce((sum, r) => sum + (typeof r.DeliveryLogWriteFailures === 'number' ? r.DeliveryLogWriteFailures : 0), 0);

test.each([['unavailable', 'unavailable' as const], ['throttled', 'throttle' as const]])(
  'with the delivery log %s, deliveries still go out at once; the failed writes are counted and logged',
  async (_name, mode) => {
    const table = h.runtime.outputs.DeliveryLogTableName!;
    const before = { fanOut: logFailures('statushooks-fan-out'), delivery: logFailures('statushooks-delivery') };
    await h.runtime.faults.tables.set(table, mode);
    try {
      const endpoint = await receiverAnswering(() => ({ status: 200, body: 'ok' }));
      const { tenantId } = await send(endpoint);
      // Delivered on the first attempt, as if the log were not there.
      const deliveryId = await deliveryIdOf(endpoint);
      await waitForLogLine(h, 'delivery log could not be written; the delivery goes on', { deliveryId, logWrite: 'delivered' });
      await waitForLogLine(h, 'delivery log could not be written; the delivery goes on', { tenantId, logWrite: 'queued' });
      expect(endpoint.requests).toHaveLength(1);
      await waitFor(() => logFailures('statushooks-fan-out') > before.fanOut && logFailures('statushooks-delivery') > before.delivery, {
        timeoutMs: 10_000,
        describe: () => 'DeliveryLogWriteFailures not counted by both functions',
      });
    } finally {
      await h.runtime.faults.tables.set(table, null);
    }
    const after = await receiverAnswering(() => ({ status: 200 }));
    const { tenantId } = await send(after);
    await recordIn(tenantId, await deliveryIdOf(after), 'delivered');
  },
);

test('a record fan-out could not write is created, complete and listed, by the delivery attempt that follows', async () => {
  const table = h.runtime.outputs.DeliveryLogTableName!;
  await h.runtime.faults.tables.set(table, 'unavailable');
  const endpoint = await receiverAnswering((n) => (n === 1 ? { status: 500, body: 'not yet' } : { status: 200, body: 'ok' }));
  let sent: Awaited<ReturnType<typeof send>>;
  try {
    sent = await send(endpoint);
    const deliveryId = await deliveryIdOf(endpoint);
    await waitForLogLine(h, 'delivery log could not be written; the delivery goes on', { deliveryId, logWrite: 'retrying' });
  } finally {
    await h.runtime.faults.tables.set(table, null);
  }
  const deliveryId = endpoint.requests[0]!.headers['webhook-id']!;
  const record = await recordIn(sent.tenantId, deliveryId, 'delivered');
  // Only the attempt written after the log came back; everything else is complete.
  expect(record.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[2, 200]]);
  expect(record).toMatchObject({ entityUuid: sent.uuid, entityNumber: `1000${counter}`, subscriptionId: sent.sub.subscriptionId, event: EVENT });
  expect(record.body).toBe(endpoint.requests[0]!.body);
  const page = await log.list({ tenantId: sent.tenantId, limit: 10 });
  expect(page.records.map((r) => r.deliveryId)).toEqual([deliveryId]);
  const byEntity = await log.list({ tenantId: sent.tenantId, entityUuid: sent.uuid, limit: 10 });
  expect(byEntity.records.map((r) => r.deliveryId)).toEqual([deliveryId]);
});

test('writes that land out of order keep the newest state and every attempt, in the order they were made', async () => {
  // The retry lane may write attempt 2 before the fast lane's write of attempt 1 is through.
  const facts = { tenantId: 'order-shop', deliveryId: 'msg_out_of_order', subscriptionId: 'sub_1', event: EVENT, eventId: 'e-1', entityUuid: 'u-1', entityNumber: null, body: '{}', occurredAt: '2026-12-04T10:00:00Z' };
  const attempt = (n: number, at: string, statusCode: number) => ({ attempt: n, at, statusCode, durationMs: 5, error: null, response: null, lane: n === 1 ? 'fast' : 'retry' });
  await log.logQueued([facts], '2026-12-04T10:00:00.100Z');
  await log.logUpdate({ facts, state: 'delivered', at: '2026-12-04T10:00:03.000Z', stateAt: '2026-12-04T10:00:02.000Z', attempt: attempt(2, '2026-12-04T10:00:02.000Z', 200) });
  await log.logUpdate({ facts, state: 'retrying', at: '2026-12-04T10:00:03.500Z', stateAt: '2026-12-04T10:00:01.000Z', reason: 'HTTP 500', attempt: attempt(1, '2026-12-04T10:00:01.000Z', 500) });
  const record = (await log.get('order-shop', 'msg_out_of_order'))!;
  expect(record.state).toBe('delivered');
  expect(record.reason).toBeUndefined();
  expect(record.lastStatusCode).toBe(200);
  expect(record.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 500], [2, 200]]);
  // Not in the retrying index either.
  expect((await log.list({ tenantId: 'order-shop', state: 'retrying', limit: 10 })).records).toEqual([]);
  // An operator's later action still applies.
  expect(await log.mark('order-shop', 'msg_out_of_order', 'pending', undefined, new Date('2026-12-04T10:05:00Z'))).toBe(true);
  expect((await log.get('order-shop', 'msg_out_of_order'))!.state).toBe('pending');
  // `pending` (a resend or redrive) gives way to the attempt that follows, even when the operator's
  // clock ran ahead of the functions'.
  await log.logUpdate({ facts, state: 'delivered', at: '2026-12-04T10:04:00.000Z', stateAt: '2026-12-04T10:04:00.000Z', attempt: attempt(1, '2026-12-04T10:04:00.000Z', 200) });
  const resent = (await log.get('order-shop', 'msg_out_of_order'))!;
  expect(resent.state).toBe('delivered');
  expect(resent.attempts).toHaveLength(3);
});
