/**
 * Archive replays through the running pipeline, as an operator starts them (the AWS SDK against
 * the local EventBridge, exactly as `statushooks events replay` or the AWS console would): the
 * archive keeps what the fan-out rule accepts, a replay of a window re-delivers exactly the
 * archived events of that window with their original webhook-ids, a statushooks filter in the
 * replay's description is applied by fan-out (the events outside it are skipped, decided and
 * logged), and events past the archive's retention are not replayed.
 *
 * The CLI's own path (`events replay --wait`, usage errors) is covered in test/cli/replay.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { DescribeReplayCommand, StartReplayCommand, type DescribeReplayCommandOutput } from '@aws-sdk/client-eventbridge';
import type { EventName } from '../../lambdas/core/catalog';
import { DEFAULTS } from '../../lambdas/core/config';
import { newReplayName, replayDescription, type ReplayFilter } from '../../lambdas/core/replay';
import { deliveryIdFor } from '../../lambdas/core/subscriptions';
import { type Harness, Receiver, type StatusChangeInput, type SubscriptionItem, entryFor, putEntries, pipelineSuite, startHarness, subscribe, waitFor, waitForLogLine, waitForQuiet } from './helpers';

jest.setTimeout(90_000);

let h: Harness;

const { receivers, receiver } = pipelineSuite({ retrySchedule: [1, 1, 1, 1], maxAttempts: 3 }, (harness) => (h = harness));

const HOUR = 3_600_000;
/** A whole second (PutEvents times are kept to the second), some hours back. */
const base = Math.floor((Date.now() - 6 * HOUR) / 1000) * 1000;
const at = (hours: number) => new Date(base + hours * HOUR);

let uuidCounter = 0;
function change(event: EventName, tenantId: string): StatusChangeInput {
  return { event, tenantId, oldStatus: 'approved', newStatus: 'option_selected', uuid: `7e000000-0000-4000-8000-${String(++uuidCounter).padStart(12, '0')}` };
}

/** Puts each change with its own event time (as a producer may set `Time`); returns the event ids in order. */
async function putAt(harness: Harness, changes: Array<[StatusChangeInput, Date]>): Promise<string[]> {
  const results = await putEntries(harness, changes.map(([c, time]) => ({ ...entryFor(harness, c), Time: time })));
  return results.map((r, i) => {
    if (!r.EventId) throw new Error(`event ${i} was refused: ${r.ErrorCode}: ${r.ErrorMessage}`);
    return r.EventId;
  });
}

/** StartReplay of the stack's archive through the fan-out rule only, as the CLI starts it. */
async function replay(harness: Harness, window: { from: Date; to: Date }, options: { name?: string; filter?: ReplayFilter; description?: string } = {}): Promise<string> {
  const name = options.name ?? newReplayName(new Date(), randomBytes(3).toString('hex'));
  const { outputs } = harness.runtime;
  await harness.events.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: options.description ?? replayDescription(options.filter ?? {}),
      EventSourceArn: outputs.ArchiveArn,
      EventStartTime: window.from,
      EventEndTime: window.to,
      Destination: { Arn: outputs.EventBusArn, FilterArns: [outputs.FanOutRuleArn!] },
    }),
  );
  return name;
}

async function completed(harness: Harness, name: string): Promise<DescribeReplayCommandOutput> {
  return waitFor(
    async () => {
      const out = await harness.events.send(new DescribeReplayCommand({ ReplayName: name }));
      return out.State === 'COMPLETED' ? out : undefined;
    },
    { timeoutMs: 20_000, describe: () => `replay ${name} did not complete` },
  );
}

/** Waits until a receiver has `n` requests (each answered 200), then until every lane is empty. */
async function settle(harness: Harness, r: Receiver, n: number, what: string): Promise<void> {
  await waitFor(() => r.requests.length >= n, {
    timeoutMs: 20_000,
    describe: () => `${what}: the receiver got ${r.requests.length} of ${n} requests; runtime said:\n${harness.logs.slice(-10).join('\n')}`,
  });
  await waitForQuiet(harness, 15_000);
}

const ids = (r: Receiver, from = 0) => r.requests.slice(from).map((q) => q.headers['webhook-id']!).sort();

test('a replay started outside statushooks (no filter in its description) re-delivers exactly the archived events of its window, [start, end), with their original webhook-ids and bodies', async () => {
  const tenantId = 'replay-window-shop';
  const r = await receiver();
  const sub = await subscribe(h, { tenantId, url: r.url });
  const puts: Array<[StatusChangeInput, Date]> = [
    [change('return_order.status.changed', tenantId), at(0)], // before the window
    [change('sales_order.status.changed', tenantId), at(1)], // exactly at its start: replayed
    [change('payment_operation.status.changed', tenantId), at(1.5)], // inside
    [change('return_order_parcel.status.changed', tenantId), at(2)], // exactly at its end: not replayed
    [change('sales_order_parcel.status.changed', tenantId), at(3)], // after
  ];
  const eventIds = await putAt(h, puts);
  // Not archived: the archive keeps only what the fan-out rule accepts.
  await putEntries(h, [{ ...entryFor(h, change('return_order.status.changed', tenantId)), Source: 'someone.else', Time: at(1.5) }]);
  await settle(h, r, puts.length, 'first deliveries');
  const firstBodies = new Map(r.requests.map((q) => [q.headers['webhook-id']!, q.body]));
  const expected = (i: number) => deliveryIdFor(eventIds[i]!, sub.subscriptionId);
  expect(ids(r)).toEqual(eventIds.map((_, i) => expected(i)).sort());

  const name = await replay(h, { from: at(1), to: at(2) }, { name: `console-repair-${randomBytes(3).toString('hex')}`, description: 'repair after the outage' });
  const done = await completed(h, name);

  expect(done.EventLastReplayedTime?.toISOString()).toBe(at(1.5).toISOString());
  await settle(h, r, puts.length + 2, 'replayed deliveries');
  expect(ids(r, puts.length)).toEqual([expected(1), expected(2)].sort());
  for (const q of r.requests.slice(puts.length)) expect(q.body).toBe(firstBodies.get(q.headers['webhook-id']!));
});

test('a statushooks replay with a tenant and event filter re-delivers only the matching events; fan-out skips the others with a log line', async () => {
  const [acme, globex] = ['replay-filter-acme', 'replay-filter-globex'];
  const ra = await receiver();
  const rg = await receiver();
  const subs: Record<string, SubscriptionItem> = { [acme]: await subscribe(h, { tenantId: acme, url: ra.url }), [globex]: await subscribe(h, { tenantId: globex, url: rg.url }) };
  const puts: Array<[StatusChangeInput, Date]> = [
    [change('sales_order.status.changed', acme), at(4)], // matches
    [change('return_order.status.changed', acme), at(4.1)], // other event
    [change('sales_order.status.changed', globex), at(4.2)], // other tenant
    [change('sales_order.status.changed', acme), at(4.3)], // matches
  ];
  const eventIds = await putAt(h, puts);
  await settle(h, ra, 3, 'first deliveries (acme)');
  await settle(h, rg, 1, 'first deliveries (globex)');

  const name = await replay(h, { from: at(4), to: at(5) }, { filter: { tenantId: acme, event: 'sales_order.status.changed' } });
  await completed(h, name);

  // The skipped events were decided (not lost in flight): fan-out logged each one.
  for (const i of [1, 2]) await waitForLogLine(h, 'replayed event outside its replay filter: skipped', { eventId: eventIds[i], replayName: name });
  await settle(h, ra, 5, 'replayed deliveries (acme)');
  const idOf = (i: number) => deliveryIdFor(eventIds[i]!, subs[puts[i]![0].tenantId]!.subscriptionId);
  expect(ids(ra, 3)).toEqual([idOf(0), idOf(3)].sort());
  expect(ra.requests).toHaveLength(5);
  expect(ids(rg)).toEqual([idOf(2)]);
});

test('events past the archive retention are not replayed; younger ones of the same window are', async () => {
  // Its own runtime, whose archive retention (archiveRetentionDays, 30 by default) lasts 2 s.
  const retentionMs = 2_000;
  const short = await startHarness({ archiveRetentionScale: retentionMs / (DEFAULTS.archiveRetentionDays * 86_400_000) });
  try {
    const tenantId = 'replay-retention-shop';
    const r = await Receiver.start();
    receivers.push(r);
    const sub = await subscribe(short, { tenantId, url: r.url });
    const [expired] = await putAt(short, [[change('return_order.status.changed', tenantId), at(0)]]);
    await settle(short, r, 1, 'first delivery of the event that will expire');
    // Outlive the retention of the first event, then archive a second one of the same window.
    await new Promise((resolve) => setTimeout(resolve, retentionMs + 1_000));
    // Replayed at once, well within its retention (its first delivery may still be on its way).
    const [kept] = await putAt(short, [[change('return_order.status.changed', tenantId), at(0.5)]]);
    const name = await replay(short, { from: at(0), to: at(1) });
    const done = await completed(short, name);

    expect(done.EventLastReplayedTime?.toISOString()).toBe(at(0.5).toISOString());
    await settle(short, r, 3, 'first and replayed delivery of the event that is kept');
    expect(r.attemptsFor(deliveryIdFor(kept!, sub.subscriptionId))).toHaveLength(2);
    expect(r.attemptsFor(deliveryIdFor(expired!, sub.subscriptionId))).toHaveLength(1);
  } finally {
    await short.stop();
  }
});
