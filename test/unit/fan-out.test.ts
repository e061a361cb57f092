import { fanOut, type FanOutPorts } from '../../lambdas/core/route-event';
import type { DeliveryJob, RejectedEventRecord } from '../../lambdas/core/job';
import { silentLog, type MetricName } from '../../lambdas/core/ports';
import { deliveryIdFor, newSecret, type Subscription } from '../../lambdas/core/subscriptions';

function sub(id: string, overrides: Partial<Subscription> = {}): Subscription {
  return { tenantId: 'acme', subscriptionId: id, url: 'https://example.com/' + id, events: ['*'], secret: newSecret(), state: 'active', ...overrides };
}

function ports(subscriptions: Subscription[], overrides: Partial<FanOutPorts> = {}) {
  const queued: DeliveryJob[] = [];
  const parked: RejectedEventRecord[] = [];
  const counts: Partial<Record<MetricName, number>> = {};
  const lookups: string[] = [];
  const p: FanOutPorts = {
    subscriptionsOf: async (tenantId) => {
      lookups.push(tenantId);
      return { subscriptions: subscriptions.filter((s) => s.tenantId === tenantId), invalid: [] };
    },
    enqueue: async (jobs) => void queued.push(...jobs),
    park: async (record) => void parked.push(record),
    now: () => new Date('2026-11-28T10:00:00Z'),
    log: silentLog,
    metrics: { count: (name, n = 1) => void (counts[name] = (counts[name] ?? 0) + n), milliseconds: () => undefined, countForTenant: () => undefined },
    ...overrides,
  };
  return { p, queued, parked, counts, lookups };
}

const event = (detail: Record<string, unknown>, detailType = 'sales_order_parcel.status.changed') => ({
  version: '0',
  id: 'evt-42',
  'detail-type': detailType,
  source: 'returns.cloud',
  time: '2026-11-28T09:59:00Z',
  detail,
});
const detail = { tenantId: 'acme', oldStatus: 'in_transit', newStatus: 'delivered', salesOrderParcel: { uuid: 'p-1', number: 'P1', externalId: null }, secretNote: 'x' };

describe('fan-out', () => {
  it('an event none of the tenant\'s subscriptions takes is logged at INFO with each one\'s reason and the entity (support: "we never got it"); a tenant without subscriptions only at DEBUG', async () => {
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const record = (level: string) => (message: string, fields?: unknown) => void lines.push({ level, message, fields: (typeof fields === 'function' ? fields() : fields) ?? {} });
    const log = { debug: record('DEBUG'), info: record('INFO'), warn: record('WARN'), error: record('ERROR') };
    const { p, queued } = ports(
      [
        sub('sub_paused', { state: 'paused' }),
        sub('sub_disabled', { state: 'disabled' }),
        sub('sub_other_event', { events: ['return_order.status.changed'] }),
        sub('sub_filtered_out', { statusFilter: ['lost', 'returned'] }),
      ],
      { log },
    );
    await fanOut(event(detail), p);
    expect(queued).toEqual([]);
    expect(lines.filter((l) => l.level !== 'DEBUG')).toEqual([
      {
        level: 'INFO',
        message: 'no matching subscriptions',
        fields: {
          eventId: 'evt-42',
          event: 'sales_order_parcel.status.changed',
          tenantId: 'acme',
          entityUuid: 'p-1',
          entityNumber: 'P1',
          newStatus: 'delivered',
          skipped: [
            { subscriptionId: 'sub_paused', reason: 'subscription is paused' },
            { subscriptionId: 'sub_disabled', reason: 'subscription is disabled' },
            { subscriptionId: 'sub_other_event', reason: 'not subscribed to sales_order_parcel.status.changed' },
            { subscriptionId: 'sub_filtered_out', reason: 'status filter (lost, returned) does not include delivered' },
          ],
        },
      },
    ]);

    lines.length = 0;
    await fanOut(event({ ...detail, tenantId: 'nobody' }), p);
    expect(lines.map((l) => [l.level, l.message])).toEqual([['DEBUG', 'no matching subscriptions']]);
  });

  it('queues one job per matching active subscription, with the exact payload', async () => {
    const { p, queued, counts, lookups } = ports([
      sub('sub_all'),
      sub('sub_named', { events: ['sales_order_parcel.status.changed'] }),
      sub('sub_filtered_in', { statusFilter: ['delivered'] }),
      sub('sub_filtered_out', { statusFilter: ['lost'] }),
      sub('sub_other_event', { events: ['return_order.status.changed'] }),
      sub('sub_paused', { state: 'paused' }),
      sub('sub_other_tenant', { tenantId: 'globex' }),
    ]);
    const result = await fanOut(event(detail), p);
    expect(queued.map((j) => j.subscriptionId).sort()).toEqual(['sub_all', 'sub_filtered_in', 'sub_named']);
    expect(lookups).toEqual(['acme']);
    const job = queued.find((j) => j.subscriptionId === 'sub_all')!;
    expect(job).toEqual({
      v: 1,
      deliveryId: deliveryIdFor('evt-42', 'sub_all'),
      eventId: 'evt-42',
      event: 'sales_order_parcel.status.changed',
      tenantId: 'acme',
      subscriptionId: 'sub_all',
      body: '{"event":"sales_order_parcel.status.changed","oldStatus":"in_transit","newStatus":"delivered","salesOrderParcel":{"number":"P1","uuid":"p-1","externalId":null}}',
      occurredAt: '2026-11-28T09:59:00Z',
      attempts: 0,
      queuedAt: '2026-11-28T10:00:00.000Z',
    });
    expect(result).toMatchObject({ status: 'queued', eventId: 'evt-42' });
    expect(counts).toMatchObject({ EventsReceived: 1, DeliveriesQueued: 3 });
  });

  it('gives a repeated event the same delivery ids', async () => {
    const a = ports([sub('sub_1'), sub('sub_2')]);
    await fanOut(event(detail), a.p);
    const b = ports([sub('sub_1'), sub('sub_2')]);
    await fanOut(event(detail), b.p);
    expect(a.queued.map((j) => j.deliveryId)).toEqual(b.queued.map((j) => j.deliveryId));
  });

  it('parks an invalid event with the original and the reason, and queues nothing', async () => {
    const { p, queued, parked, counts } = ports([sub('sub_1')]);
    const bad = event({ ...detail, newStatus: '' });
    const result = await fanOut(bad, p);
    expect(result).toMatchObject({ status: 'rejected', reason: expect.stringContaining('detail.newStatus') });
    expect(parked).toEqual([{ kind: 'rejected-event', reason: expect.stringContaining('newStatus'), rejectedAt: '2026-11-28T10:00:00.000Z', event: bad }]);
    expect(queued).toHaveLength(0);
    expect(counts).toEqual({ EventsRejected: 1 });
  });

  it('fails the invocation (so it is retried) when queueing fails, and when parking fails', async () => {
    const failingQueue = ports([sub('sub_1')], { enqueue: async () => Promise.reject(new Error('throttled')) });
    await expect(fanOut(event(detail), failingQueue.p)).rejects.toThrow('throttled');
    const failingPark = ports([], { park: async () => Promise.reject(new Error('SQS down')) });
    await expect(fanOut(event({}), failingPark.p)).rejects.toThrow('SQS down');
  });

  it('fails the invocation when subscriptions cannot be read', async () => {
    const { p } = ports([], { subscriptionsOf: async () => Promise.reject(new Error('ProvisionedThroughputExceededException')) });
    await expect(fanOut(event(detail), p)).rejects.toThrow('ProvisionedThroughputExceededException');
  });

  it('skips invalid subscription items, counts them, and still serves the valid ones', async () => {
    const { p, queued, counts } = ports([], {
      subscriptionsOf: async () => ({ subscriptions: [sub('sub_ok')], invalid: [{ subscriptionId: 'sub_bad', reason: 'url missing' }] }),
    });
    const result = await fanOut(event(detail), p);
    expect(queued.map((j) => j.subscriptionId)).toEqual(['sub_ok']);
    expect(counts.InvalidSubscriptions).toBe(1);
    expect(result).toMatchObject({ status: 'queued', invalidSubscriptions: [{ subscriptionId: 'sub_bad', reason: 'url missing' }] });
  });

  it('queues nothing when nobody subscribed', async () => {
    const { p, queued } = ports([]);
    await expect(fanOut(event(detail), p)).resolves.toEqual({ status: 'queued', eventId: 'evt-42', deliveryIds: [], invalidSubscriptions: [] });
    expect(queued).toHaveLength(0);
  });
});
