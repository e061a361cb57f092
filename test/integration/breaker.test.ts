/**
 * The circuit breaker per endpoint (docs/architecture.md §7) through the running pipeline: it
 * opens after a run of failures, lets one probe per interval through, closes on success and the
 * backlog flows; attempts stay honest (never more than maxAttempts, every parked job was tried)
 * and the operators hear about it through the operational events.
 */
import { DynamoHealthStore } from '../../lambdas/adapters/health-store';
import { OperationalEvents } from '../../lambdas/adapters/operational-events';
import type { EventName } from '../../lambdas/core/catalog';
import { PARKED_ATTRIBUTES } from '../../lambdas/core/job';
import { type Harness, Receiver, drain, putChanges, pipelineSuite, subscribe, waitFor, waitForQuiet } from './helpers';

jest.setTimeout(120_000);

const MAX_ATTEMPTS = 10;
const PROBE_INTERVAL_MS = 2_000;
let h: Harness;
let health: DynamoHealthStore;
let operational: OperationalEvents;
const started = Date.now();

const { receivers } = pipelineSuite(
  { retrySchedule: [1], maxAttempts: MAX_ATTEMPTS, httpTimeoutMs: 1_000, context: { breakerThreshold: '3', breakerProbeIntervalSeconds: String(PROBE_INTERVAL_MS / 1000) } },
  (harness) => {
    h = harness;
    health = new DynamoHealthStore(h.db, h.runtime.outputs.HealthTableName!);
    operational = new OperationalEvents(h.db, h.runtime.outputs.HealthTableName!);
  },
);

const EVENT: EventName = 'payment_operation.status.changed';
const changes = (tenantId: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ event: EVENT, tenantId, oldStatus: 'pending', newStatus: `s${i}`, uuid: `f0000000-0000-4000-8000-${tenantId.length}${String(i).padStart(11, '0')}` }));

test('the breaker opens after consecutive failures, probes once per interval, closes when the endpoint is back, and the backlog flows', async () => {
  let down = true;
  const r = await Receiver.start(() => (down ? 500 : 200));
  receivers.push(r);
  const sub = await subscribe(h, { tenantId: 'brk-flaky', url: `${r.url}?token=secret-query` });
  await putChanges(h, changes('brk-flaky', 5));

  const open = await waitFor(async () => {
    const item = await health.get('brk-flaky', sub.subscriptionId);
    return item?.circuit === 'open' ? item : undefined;
  }, { timeoutMs: 20_000, describe: () => `the circuit did not open; the receiver saw ${r.requests.length} request(s)` });
  expect(open.consecutiveFailures).toBeGreaterThanOrEqual(3);
  expect(open.lastError).toMatch(/HTTP 500/);

  // While open: at most one request per probe interval, not one per waiting job.
  const windowStart = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 3 * PROBE_INTERVAL_MS));
  const inWindow = r.requests.filter((q) => q.at > windowStart + 100 && q.at <= windowStart + 3 * PROBE_INTERVAL_MS).length;
  expect(inWindow).toBeLessThanOrEqual(3);

  // The endpoint comes back: the next probe succeeds, the circuit closes, every job is delivered.
  down = false;
  await waitFor(() => r.deliveredIds().size === 5, { timeoutMs: 40_000, describe: () => `${r.deliveredIds().size} of 5 delivered after recovery` });
  const closed = await health.get('brk-flaky', sub.subscriptionId);
  expect(closed).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
  expect(closed?.lastSuccessAt).toBeDefined();
  for (const id of r.deliveredIds()) expect(r.attemptsFor(id).length).toBeLessThanOrEqual(MAX_ATTEMPTS);

  // Operators heard both transitions, with the URL redacted.
  const events = await waitFor(async () => {
    const listed = (await operational.list(started, Date.now())).filter((e) => e.detail.subscriptionId === sub.subscriptionId);
    return listed.some((e) => e.detailType === 'statushooks.endpoint.recovered') ? listed : undefined;
  }, { timeoutMs: 10_000, describe: () => 'no statushooks.endpoint.recovered event was kept' });
  expect(events.map((e) => e.detailType)).toEqual(['statushooks.endpoint.failing', 'statushooks.endpoint.recovered']);
  expect(events[0]!.detail).toMatchObject({ tenantId: 'brk-flaky', subscriptionId: sub.subscriptionId, reason: expect.stringMatching(/consecutive failed attempts; last: HTTP 500/) });
  expect(events[0]!.detail.url).not.toContain('secret-query');
  expect(Date.parse(events[0]!.detail.since)).toBeLessThanOrEqual(Date.parse(events[0]!.time));
});

test('attempts stay honest behind an open breaker: at most maxAttempts each, every parked job was tried, with the reason', async () => {
  const r = await Receiver.start(() => 503);
  receivers.push(r);
  const sub = await subscribe(h, { tenantId: 'brk-dead', url: r.url });
  const eventIds = await putChanges(h, changes('brk-dead', 3));

  const parked = await waitFor(async () => {
    const mine = (await drain(h, h.runtime.outputs.DeliveryDlqUrl!)).filter((m) => eventIds.includes(JSON.parse(m.Body!).eventId));
    collected.push(...mine);
    return collected.length === 3 ? collected : undefined;
  }, { timeoutMs: 60_000, describe: () => `${collected.length} of 3 jobs parked; the receiver saw ${r.requests.length} request(s)` });

  await waitForQuiet(h, 10_000);
  let total = 0;
  for (const m of parked) {
    const id = JSON.parse(m.Body!).deliveryId as string;
    const attempts = Number(m.MessageAttributes?.[PARKED_ATTRIBUTES.attempts]?.StringValue);
    const tried = r.attemptsFor(id).length;
    // The count the DLQ shows is the number of requests the endpoint really got, 1 to maxAttempts.
    expect(attempts).toBe(tried);
    expect(tried).toBeGreaterThanOrEqual(1);
    expect(tried).toBeLessThanOrEqual(MAX_ATTEMPTS);
    expect(m.MessageAttributes?.[PARKED_ATTRIBUTES.reason]?.StringValue).toMatch(/failed \d+ attempts; last: HTTP 503|not delivered within its deadline .* attempts?; last error: HTTP 503/);
    total += tried;
  }
  expect(r.requests).toHaveLength(total);
  expect((await health.get('brk-dead', sub.subscriptionId))?.circuit).not.toBe('closed');
});
const collected: import('@aws-sdk/client-sqs').Message[] = [];
