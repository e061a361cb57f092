/**
 * What fan-out asks of AWS per event, counted by the local runtime's emulators on the real path:
 * one subscription read per tenant per cache window, ⌈S/10⌉ SendMessageBatch calls, and for the
 * delivery log ⌈S/100⌉ BatchGetItem (records an earlier fan-out of the event left) and ⌈S/25⌉
 * BatchWriteItem calls, whatever the number S of matching subscriptions;
 * never a call per subscription (docs/architecture.md §9; the cost model rests on it).
 */
import { randomUUID } from 'node:crypto';
import { putChanges, Receiver, startHarness, subscribe, waitFor, type Harness } from './helpers';

let h: Harness;
let receiver: Receiver;

beforeAll(async () => {
  // One fan-out environment, so "per instance" is the whole count; a cache window longer than the test.
  h = await startHarness({ maxEnvironmentsPerFunction: 1, context: { subscriptionCacheTtlMs: '600000', allowPrivateEndpoints: 'true', allowHttpEndpoints: 'true' } });
  receiver = await Receiver.start();
}, 120_000);

afterAll(async () => {
  await receiver?.stop();
  await h?.stop();
});

async function subscriptions(tenantId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await subscribe(h, { tenantId, url: `${receiver.url}/${tenantId}/${i}` });
}

async function deliverOne(tenantId: string, expected: number): Promise<void> {
  const before = receiver.requests.length;
  await putChanges(h, [{ event: 'return_order.status.changed', tenantId, oldStatus: 'approved', newStatus: 'option_selected', uuid: randomUUID(), number: '100004' }]);
  await waitFor(() => receiver.requests.length - before >= expected || undefined, { timeoutMs: 60_000, describe: () => `${receiver.requests.length - before} of ${expected} deliveries arrived` });
}

async function counts() {
  const { api } = await h.runtime.stats.read();
  const table = (name: string | undefined) => api.dynamodb.tables[name!]?.calls ?? {};
  return {
    subscriptionReads: table(h.runtime.outputs.SubscriptionsTableName).Query ?? 0,
    logBatchReads: table(h.runtime.outputs.DeliveryLogTableName).BatchGetItem ?? 0,
    logBatchWrites: table(h.runtime.outputs.DeliveryLogTableName).BatchWriteItem ?? 0,
    sendBatches: api.sqs.operations.SendMessageBatch?.calls ?? 0,
    sentMessages: api.sqs.operations.SendMessageBatch?.messages ?? 0,
    singleSends: api.sqs.operations.SendMessage?.calls ?? 0,
  };
}

describe('fan-out calls per event', () => {
  it.each([
    [1, 1, 1, 1],
    [23, 3, 1, 1],
    [60, 6, 3, 1],
    [101, 11, 5, 2],
  ])('with %i matching subscriptions: %i SendMessageBatch, %i BatchWriteItem and %i BatchGetItem per event, one subscription read per cache window', async (s, batches, logWrites, logReads) => {
    const tenantId = `calls-${s}`;
    await subscriptions(tenantId, s);
    await h.runtime.stats.reset();

    await deliverOne(tenantId, s);
    expect(await counts()).toEqual({ subscriptionReads: 1, logBatchReads: logReads, logBatchWrites: logWrites, sendBatches: batches, sentMessages: s, singleSends: 0 });

    // A second event of the tenant within the cache window: no new read, the same batching.
    await deliverOne(tenantId, s);
    expect(await counts()).toEqual({ subscriptionReads: 1, logBatchReads: 2 * logReads, logBatchWrites: 2 * logWrites, sendBatches: 2 * batches, sentMessages: 2 * s, singleSends: 0 });
  }, 180_000);
});
