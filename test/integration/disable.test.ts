/**
 * Automatic disabling (docs/architecture.md §7): a subscription whose endpoint keeps failing
 * without one success for `disableAfterHours` (compressed here to 1.8 s through context) is
 * disabled with a reason, its job parked, and operators get statushooks.subscription.disabled;
 * 410 Gone disables at once and says so the same way.
 */
import { OperationalEvents } from '../../lambdas/adapters/operational-events';
import type { EventName } from '../../lambdas/core/catalog';
import { PARKED_ATTRIBUTES } from '../../lambdas/core/job';
import { type Harness, Receiver, drain, functionMetricRecords, getSubscription, putChanges, pipelineSuite, subscribe, waitFor } from './helpers';

jest.setTimeout(90_000);

let h: Harness;
let operational: OperationalEvents;
const started = Date.now();

const { receivers } = pipelineSuite({ retrySchedule: [1], maxAttempts: 10, httpTimeoutMs: 1_000, context: { disableAfterHours: '0.0005', breakerThreshold: '100' } }, (harness) => {
  h = harness;
  operational = new OperationalEvents(h.db, h.runtime.outputs.HealthTableName!);
});

const EVENT: EventName = 'sales_order_parcel.status.changed';

async function failingSubscription(tenantId: string, answer: number) {
  const r = await Receiver.start(() => answer);
  receivers.push(r);
  const sub = await subscribe(h, { tenantId, url: r.url });
  const [eventId] = await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'packed', newStatus: 'shipped', uuid: `a1000000-0000-4000-8000-${String(tenantId.length).padStart(12, '0')}` }]);
  const disabled = await waitFor(async () => {
    const item = await getSubscription(h, tenantId, sub.subscriptionId);
    return item?.state === 'disabled' ? item : undefined;
  }, { timeoutMs: 30_000, describe: () => `subscription of ${tenantId} not disabled; the receiver saw ${r.requests.length} request(s)` });
  const event = await waitFor(async () => (await operational.list(started, Date.now())).find((e) => e.detail.subscriptionId === sub.subscriptionId && e.detailType === 'statushooks.subscription.disabled'), {
    timeoutMs: 10_000,
    describe: () => 'no statushooks.subscription.disabled event was kept',
  });
  const parked = await waitFor(async () => (await drain(h, h.runtime.outputs.DeliveryDlqUrl!)).find((m) => JSON.parse(m.Body!).eventId === eventId), {
    timeoutMs: 10_000,
    describe: () => 'the job was not parked',
  });
  return { r, sub, disabled, event, parked };
}

test('sustained failure disables the subscription with a reason; the job is parked and operators are told', async () => {
  const { r, disabled, event, parked } = await failingSubscription('dis-sustained', 500);

  expect(String(disabled.disabledReason)).toMatch(/^no successful delivery since \S+ \(0\.0005 h allowed; \d+ consecutive failed attempts\); last: HTTP 500$/);
  expect(event.detail).toMatchObject({ tenantId: 'dis-sustained', reason: disabled.disabledReason });
  expect(parked.MessageAttributes?.[PARKED_ATTRIBUTES.reason]?.StringValue).toMatch(/^subscription disabled after sustained failure; no successful delivery since/);
  // It kept trying until then (more than one attempt), and stopped.
  expect(r.requests.length).toBeGreaterThan(1);
  expect(Number(parked.MessageAttributes?.[PARKED_ATTRIBUTES.attempts]?.StringValue)).toBe(r.requests.length);
  // The metrics say whose endpoint failed: one per-tenant count per failed attempt, and the parking.
  const perTenant = functionMetricRecords(h).filter((e) => e.TenantId === 'dis-sustained');
  expect(perTenant.reduce((n, e) => n + Number(e.DeliveriesFailed ?? 0), 0)).toBe(r.requests.length);
  expect(perTenant.reduce((n, e) => n + Number(e.DeliveriesDeadLettered ?? 0), 0)).toBe(1);
});

test('410 Gone disables at once and tells operators the same way', async () => {
  const { r, disabled, event } = await failingSubscription('dis-gone', 410);
  expect(r.requests).toHaveLength(1);
  expect(String(disabled.disabledReason)).toMatch(/410 Gone/);
  expect(event.detail.reason).toBe(disabled.disabledReason);
});
