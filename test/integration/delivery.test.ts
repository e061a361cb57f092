/**
 * The pipeline end to end, as producers and customers see it: events put on the bus with the AWS
 * SDK reach exactly the subscriptions that want them, with the contract's body and a signature
 * that standardwebhooks verifies.
 */
import { EVENT_NAMES, type EventName } from '../../lambdas/core/catalog';
import {
  type Harness,
  Receiver,
  type StatusChangeInput,
  type SubscriptionItem,
  expectedBody,
  putChanges,
  pipelineSuite,
  subscribe,
  verify,
  waitFor,
  waitForQuiet,
} from './helpers';

jest.setTimeout(60_000);

let h: Harness;

const { receiver } = pipelineSuite({ retrySchedule: [1, 1, 1, 1], maxAttempts: 3 }, (harness) => (h = harness));

const TENANT = 'acme-shop';
const OTHER_TENANT = 'other-shop';

/** One change per event type; every second one moves to "delivered". */
const changes: StatusChangeInput[] = EVENT_NAMES.map((event, i) => ({
  event,
  tenantId: TENANT,
  oldStatus: i % 2 === 0 ? 'in_transit' : 'approved',
  newStatus: i % 2 === 0 ? 'delivered' : 'option_selected',
  uuid: `00000000-0000-4000-8000-00000000000${i}`,
  number: i === 1 ? null : `10000${i}`,
  externalId: i === 2 ? `ext-${i}` : null,
}));

test('each of the five events reaches exactly the subscriptions that want it, with the exact body and a verifiable signature', async () => {
  // Prepare: subscriptions of the tenant with different interests, one paused, one of another tenant.
  const all = await receiver();
  const salesOnly = await receiver();
  const deliveredOnly = await receiver();
  const paused = await receiver();
  const otherTenant = await receiver();
  const subs = {
    all: await subscribe(h, { tenantId: TENANT, url: all.url, events: ['*'] }),
    salesOnly: await subscribe(h, { tenantId: TENANT, url: salesOnly.url, events: ['sales_order.status.changed'] }),
    deliveredOnly: await subscribe(h, { tenantId: TENANT, url: deliveredOnly.url, events: ['*'], statusFilter: ['delivered'] }),
    paused: await subscribe(h, { tenantId: TENANT, url: paused.url, events: ['*'], state: 'paused' }),
    otherTenant: await subscribe(h, { tenantId: OTHER_TENANT, url: otherTenant.url, events: ['*'] }),
  };

  // Act
  await putChanges(h, changes);

  // Assess: the all-events subscription gets all five, then the pipeline goes quiet.
  await waitFor(() => all.deliveredIds().size === changes.length, {
    timeoutMs: 20_000,
    describe: () => `the "*" receiver got ${all.requests.length} of ${changes.length} deliveries; runtime said:\n${h.logs.slice(-10).join('\n')}`,
  });
  await waitForQuiet(h, 10_000);

  const expectFor = (r: Receiver, sub: SubscriptionItem, wanted: StatusChangeInput[]) => {
    const bodies = r.requests.map((q) => q.body).sort();
    expect(bodies).toEqual(wanted.map(expectedBody).sort());
    for (const request of r.requests) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-id']).toMatch(/^msg_/);
      expect(request.headers['webhook-signature']).toMatch(/^v1,/);
      expect(() => verify(sub.secret, request)).not.toThrow();
    }
  };
  expectFor(all, subs.all, changes);
  expectFor(salesOnly, subs.salesOnly, changes.filter((c) => c.event === 'sales_order.status.changed'));
  expectFor(deliveredOnly, subs.deliveredOnly, changes.filter((c) => c.newStatus === 'delivered'));
  expect(paused.requests).toHaveLength(0);
  expect(otherTenant.requests).toHaveLength(0);

  // A signature made with another subscription's secret does not verify.
  expect(() => verify(subs.salesOnly.secret, all.requests[0]!)).toThrow();
  // Each event got its own delivery id, and the receivers of one event got different ids.
  expect(new Set(all.requests.map((r) => r.headers['webhook-id'])).size).toBe(changes.length);
  const salesId = salesOnly.requests[0]!.headers['webhook-id'];
  expect(all.requests.map((r) => r.headers['webhook-id'])).not.toContain(salesId);
});

test('the runtime shows one readable line per delivery attempt', async () => {
  const r = await receiver();
  const sub = await subscribe(h, { tenantId: 'log-shop', url: r.url });
  const event: EventName = 'payment_operation.status.changed';
  await putChanges(h, [{ event, tenantId: 'log-shop', oldStatus: 'pending', newStatus: 'paid', uuid: 'a6f1c2d4-0000-4000-8000-000000000001' }]);
  const line = await waitFor(() => h.logs.find((l) => l.startsWith(`→ ${event} ${sub.subscriptionId.slice(0, 8)} attempt 1: 200 in `)), {
    timeoutMs: 15_000,
    describe: () => `no attempt line for ${sub.subscriptionId}; runtime said:\n${h.logs.slice(-10).join('\n')}`,
  });
  expect(line).toMatch(/ ms$/);
});
