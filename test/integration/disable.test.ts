/**
 * Automatic disabling (docs/architecture.md §7): a subscription whose endpoint keeps failing
 * without one success for `disableAfterHours` (compressed here to 1.8 s through context) is
 * disabled with a reason, its job parked, and operators get statushooks.subscription.disabled;
 * 410 Gone disables at once and says so the same way. A subscription is disabled once, however
 * many jobs fail together, and only while it is still active at the URL that failed.
 */
import { OperationalEvents } from '../../lambdas/adapters/operational-events';
import type { EventName } from '../../lambdas/core/catalog';
import { PARKED_ATTRIBUTES } from '../../lambdas/core/job';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Harness, Receiver, drain, functionMetricRecords, getSubscription, putChanges, pipelineSuite, queueDepth, subscribe, waitFor } from './helpers';

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

test('ten jobs of one endpoint answering 410 in the same batch disable it once: one reason, one operational event', async () => {
  const tenantId = 'dis-burst';
  const r = await Receiver.start(() => 410);
  receivers.push(r);
  const sub = await subscribe(h, { tenantId, url: r.url });
  // Queued while the functions do not poll, so they arrive together, as a batch of ten.
  await h.runtime.eventSources.pause();
  let eventIds: string[];
  try {
    eventIds = await putChanges(h, Array.from({ length: 10 }, (_, i) => ({ event: EVENT, tenantId, oldStatus: 'packed', newStatus: 'shipped', uuid: `b1000000-0000-4000-8000-${String(i).padStart(12, '0')}` })));
    await waitFor(async () => ((await queueDepth(h, h.runtime.outputs.DeliveryQueueUrl!)) >= 10 ? true : undefined), { timeoutMs: 20_000, describe: () => 'the ten jobs were not queued' });
  } finally {
    h.runtime.eventSources.resume();
  }
  const parked = new Set<string>();
  await waitFor(async () => {
    for (const m of await drain(h, h.runtime.outputs.DeliveryDlqUrl!)) parked.add(JSON.parse(m.Body!).eventId);
    return eventIds.every((id) => parked.has(id)) ? true : undefined;
  }, { timeoutMs: 30_000, describe: () => `${parked.size} of 10 jobs parked; the receiver saw ${r.requests.length} request(s)` });

  const item = await getSubscription(h, tenantId, sub.subscriptionId);
  expect(item?.state).toBe('disabled');
  const events = (await operational.list(started, Date.now())).filter((e) => e.detail.subscriptionId === sub.subscriptionId);
  expect(events.map((e) => e.detailType)).toEqual(['statushooks.subscription.disabled']);
  expect(events[0]!.detail.reason).toBe(item?.disabledReason);
});

test('a 410 from a URL the subscription has left meanwhile does not disable it: the job goes on to the new URL', async () => {
  const tenantId = 'dis-moved';
  const fresh = await Receiver.start(() => 200);
  receivers.push(fresh);
  let subscriptionId = '';
  // The old endpoint is retired while it answers: the subscription is moved to the new URL (as an
  // admin backend writing the table would), then the old one says 410 Gone.
  const old = await Receiver.start(() => {
    void h.db.send(new UpdateCommand({ TableName: h.runtime.outputs.SubscriptionsTableName, Key: { tenantId, subscriptionId }, UpdateExpression: 'SET #u = :u', ExpressionAttributeNames: { '#u': 'url' }, ExpressionAttributeValues: { ':u': fresh.url } }));
    return { status: 410, delayMs: 300 };
  });
  receivers.push(old);
  subscriptionId = (await subscribe(h, { tenantId, url: old.url })).subscriptionId;
  await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'packed', newStatus: 'shipped', uuid: 'c1000000-0000-4000-8000-000000000001' }]);

  const delivered = await waitFor(() => fresh.requests[0], { timeoutMs: 30_000, describe: () => `the new URL got nothing; the old one saw ${old.requests.length} request(s)\n${h.logs.slice(-8).join('\n')}` });
  expect(delivered.headers['webhook-id']).toBe(old.requests[0]!.headers['webhook-id']);
  expect(old.requests).toHaveLength(1);
  const item = await getSubscription(h, tenantId, subscriptionId);
  expect(item).toMatchObject({ state: 'active', url: fresh.url });
  expect(item?.disabledReason).toBeUndefined();
  expect((await operational.list(started, Date.now())).filter((e) => e.detail.subscriptionId === subscriptionId)).toEqual([]);
});

test('a subscription disabled for sustained failure and made active again by a direct write of its item starts healthy: its next failed attempt is retried, not disabled again', async () => {
  const tenantId = 'dis-resumed';
  let recovered = false;
  // Failing until it is disabled; afterwards the first attempt of a delivery fails once more, the next succeeds.
  const r = await Receiver.start((n) => (recovered && n > 1 ? 200 : 500));
  receivers.push(r);
  const sub = await subscribe(h, { tenantId, url: r.url });
  await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'packed', newStatus: 'shipped', uuid: 'd1000000-0000-4000-8000-000000000001' }]);
  await waitFor(async () => ((await getSubscription(h, tenantId, sub.subscriptionId))?.state === 'disabled' ? true : undefined), {
    timeoutMs: 30_000,
    describe: () => `not disabled; the receiver saw ${r.requests.length} request(s)`,
  });

  // An admin backend resumes it by writing the item (§3), not through the CLI.
  recovered = true;
  await h.db.send(
    new UpdateCommand({
      TableName: h.runtime.outputs.SubscriptionsTableName,
      Key: { tenantId, subscriptionId: sub.subscriptionId },
      UpdateExpression: 'SET #s = :active REMOVE disabledReason',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':active': 'active' },
    }),
  );
  // Fan-out's cached lookup of the tenant (subscriptionCacheTtlMs, 5 s) must see it active.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const before = r.requests.length;
  await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'shipped', newStatus: 'delivered', uuid: 'd1000000-0000-4000-8000-000000000001' }]);
  await waitFor(() => (r.requests.length >= before + 2 ? true : undefined), {
    timeoutMs: 30_000,
    describe: () => `the resumed subscription got ${r.requests.length - before} request(s); last log lines:\n${h.logs.slice(-6).join('\n')}`,
  });
  const fresh = r.requests.slice(before);
  // The same delivery, tried again after its one failure, and delivered.
  expect(fresh.map((q) => q.headers['webhook-id'])).toEqual([fresh[0]!.headers['webhook-id'], fresh[0]!.headers['webhook-id']]);
  const item = await getSubscription(h, tenantId, sub.subscriptionId);
  expect(item?.state).toBe('active');
  const disabledEvents = (await operational.list(started, Date.now())).filter((e) => e.detail.subscriptionId === sub.subscriptionId && e.detailType === 'statushooks.subscription.disabled');
  expect(disabledEvents).toHaveLength(1);
});
