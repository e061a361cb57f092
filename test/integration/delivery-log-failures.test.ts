/**
 * The delivery log with `deliveryLog` = `failures`, through the running pipeline: a delivery that
 * succeeds at its first attempt leaves no record (metrics count it), anything that failed has its
 * whole story, and what an operator does (redrive, resend) keeps its record up to date to the end.
 */
import { DynamoDeliveryLog } from '../../lambdas/adapters/delivery-log-store';
import type { DeliveryRecord } from '../../lambdas/core/delivery-log';
import type { EventName } from '../../lambdas/core/catalog';
import { notFound, resendIn } from '../../cli/commands/deliveries';
import { redriveIn } from '../../cli/commands/dlq';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Clients, resolveTarget } from '../../cli/target';
import { cli } from '../cli/helpers';
import { type Answer, type Harness, Receiver, functionMetricRecords, putChanges, startHarness, subscribe, waitFor } from './helpers';

jest.setTimeout(90_000);

const MAX_ATTEMPTS = 2;
let h: Harness;
let log: DynamoDeliveryLog;
let clients: Clients;
const servers: Receiver[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'statushooks-log-failures-'));

beforeAll(async () => {
  const stateFile = path.join(dir, 'dev.json');
  h = await startHarness({ stateFile, retrySchedule: [1, 1], maxAttempts: MAX_ATTEMPTS, httpTimeoutMs: 1_500, context: { deliveryLog: 'failures', subscriptionCacheTtlMs: '0' } });
  // As the CLI builds its clients (--local <state file>): the mode comes from the stack's outputs.
  clients = new Clients(await resolveTarget({ local: stateFile }));
  log = clients.deliveryLog();
}, 180_000);

afterAll(async () => {
  clients?.destroy();
  await Promise.all(servers.map((s) => s.stop()));
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const EVENT: EventName = 'sales_order.status.changed';
let counter = 0;

async function receiverAnswering(reply: (n: number) => Answer): Promise<Receiver> {
  let n = 0;
  const r = await Receiver.start(() => reply(++n));
  servers.push(r);
  return r;
}

async function send(endpoint: Receiver) {
  const n = ++counter;
  const tenantId = `failures-shop-${n}`;
  const sub = await subscribe(h, { tenantId, url: endpoint.url });
  await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'open', newStatus: 'shipped', uuid: `d0000000-0000-4000-8000-${String(n).padStart(12, '0')}`, number: `SO-${n}` }]);
  return { tenantId, sub };
}

async function nthRequest(endpoint: Receiver, n: number) {
  return waitFor(() => endpoint.requests[n - 1], { timeoutMs: 30_000, describe: () => `request ${n} never reached ${endpoint.url}\n${h.logs.slice(-6).join('\n')}` });
}

async function recordIn(tenantId: string, deliveryId: string, state: DeliveryRecord['state'], attempts: number): Promise<DeliveryRecord> {
  let last: DeliveryRecord | undefined;
  return waitFor(
    async () => {
      last = await log.get(tenantId, deliveryId);
      return last?.state === state && last.attempts.length === attempts ? last : undefined;
    },
    { timeoutMs: 30_000, describe: () => `record of ${deliveryId} not ${state} with ${attempts} attempts: ${JSON.stringify(last)}\n${h.logs.slice(-6).join('\n')}` },
  );
}

const succeeded = () => functionMetricRecords(h).reduce((sum, r) => sum + (typeof r.DeliveriesSucceeded === 'number' ? r.DeliveriesSucceeded : 0), 0);

test('the mode reaches the CLI through the stack outputs', () => {
  expect(h.runtime.outputs.DeliveryLogMode).toBe('failures');
  expect(log.mode).toBe('failures');
});

test('a delivery that succeeds at its first attempt is counted but leaves no record, and the CLI says why', async () => {
  const before = succeeded();
  const endpoint = await receiverAnswering(() => ({ status: 204 }));
  const { tenantId } = await send(endpoint);
  const deliveryId = (await nthRequest(endpoint, 1)).headers['webhook-id']!;
  // The delivery function is done with the job once its metrics are out.
  await waitFor(() => (succeeded() > before ? true : undefined), { timeoutMs: 20_000, describe: () => 'DeliveriesSucceeded not published' });
  expect(await log.get(tenantId, deliveryId)).toBeUndefined();
  expect((await log.list({ tenantId, limit: 10 })).records).toEqual([]);
  expect(notFound(deliveryId, tenantId, log)).toBe(
    `no delivery ${deliveryId} for tenant ${tenantId} in the delivery log: this stack records failed deliveries only (deliveryLog = failures), so it was delivered at its first attempt, is still queued, was never queued, or is older than the retention of 30 days`,
  );
});

test('a delivery that fails once and then succeeds has a record with both attempts, ending delivered', async () => {
  const endpoint = await receiverAnswering((n) => (n === 1 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' }));
  const { tenantId, sub } = await send(endpoint);
  const deliveryId = (await nthRequest(endpoint, 1)).headers['webhook-id']!;
  const record = await recordIn(tenantId, deliveryId, 'delivered', 2);
  expect(record.attempts.map((a) => [a.attempt, a.statusCode, a.response])).toEqual([
    [1, 503, 'busy'],
    [2, 200, 'ok'],
  ]);
  // Created by the first failure, with every fact a record written at queue time has.
  expect(record).toMatchObject({ tenantId, subscriptionId: sub.subscriptionId, event: EVENT, entityNumber: `SO-${counter}`, body: endpoint.requests[0]!.body });
  expect((await log.list({ tenantId, limit: 10 })).records.map((r) => r.deliveryId)).toEqual([deliveryId]);
  // The CLI's text says what this mode leaves out of a record; an empty list says it too.
  const local = ['--local', path.join(dir, 'dev.json')];
  const got = await cli(['deliveries', 'get', deliveryId, '--tenant', tenantId, ...local]);
  expect(got.stdout).toContain('note: this stack records failed deliveries only (deliveryLog = failures): an earlier send of this webhook-id that succeeded at its first attempt');
  const empty = await cli(['deliveries', 'list', '--tenant', `${tenantId}-none`, ...local]);
  expect(empty.stdout).toContain('note: this stack records failed deliveries only (deliveryLog = failures): a delivery made at its first attempt, or still queued, has no record');
});

test('a parked delivery is recorded; after a redrive its first attempt that succeeds is written too, and so is a resend', async () => {
  let healthy = false;
  const endpoint = await receiverAnswering(() => (healthy ? { status: 204 } : { status: 500, body: 'down' }));
  const { tenantId } = await send(endpoint);
  const deliveryId = (await nthRequest(endpoint, 1)).headers['webhook-id']!;
  const parked = await recordIn(tenantId, deliveryId, 'parked', MAX_ATTEMPTS);
  expect(parked.reason).toBe(`failed ${MAX_ATTEMPTS} attempts; last: HTTP 500`);

  healthy = true;
  const report = await waitFor(
    async () => {
      const r = await redriveIn(clients, 'delivery', { ids: [deliveryId] });
      return r.moved.length === 1 ? r : undefined;
    },
    { timeoutMs: 20_000, describe: () => 'the parked job never reached the DLQ' },
  );
  expect(report.failed).toEqual([]);
  // Attempts start again with the redrive (attempt 1), and its success is written although it is a first attempt.
  const delivered = await recordIn(tenantId, deliveryId, 'delivered', MAX_ATTEMPTS + 1);
  expect(delivered.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
    [1, 500],
    [2, 500],
    [1, 204],
  ]);

  await resendIn(clients, tenantId, deliveryId);
  const resent = await recordIn(tenantId, deliveryId, 'delivered', MAX_ATTEMPTS + 2);
  expect(resent.attempts.at(-1)).toMatchObject({ attempt: 1, statusCode: 204 });
  // The same webhook-id every time.
  expect(new Set(endpoint.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryId]));
});
