/**
 * A burst through the whole pipeline: 500 events to several subscriptions. Every delivery must
 * arrive (receivers dedupe by webhook-id, as the contract tells them to), none may be lost.
 */
import { EVENT_NAMES } from '../../lambdas/core/catalog';
import { deliveryIdFor } from '../../lambdas/core/subscriptions';
import { type Harness, Receiver, type StatusChangeInput, putChanges, pipelineSuite, subscribe, waitFor, waitForQuiet } from './helpers';

jest.setTimeout(120_000);

const EVENTS = 500;
const SUBSCRIPTIONS = 4;
let h: Harness;

const { receivers } = pipelineSuite({ retrySchedule: [1, 1, 1, 1], maxAttempts: 5 }, (harness) => (h = harness));

test(`a burst of ${EVENTS} events to ${SUBSCRIPTIONS} subscriptions: every delivery arrives, none is lost`, async () => {
  const tenantId = 'burst-shop';
  for (let i = 0; i < SUBSCRIPTIONS; i++) receivers.push(await Receiver.start());
  const subs = [];
  for (const r of receivers) subs.push(await subscribe(h, { tenantId, url: r.url }));
  const changes: StatusChangeInput[] = Array.from({ length: EVENTS }, (_, i) => ({
    event: EVENT_NAMES[i % EVENT_NAMES.length]!,
    tenantId,
    oldStatus: 'approved',
    newStatus: 'option_selected',
    uuid: `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    number: String(100000 + i),
  }));

  const started = Date.now();
  const eventIds = await putChanges(h, changes);
  const putMs = Date.now() - started;
  const expected = subs.map((s) => new Set(eventIds.map((id) => deliveryIdFor(id, s.subscriptionId))));
  const received = () => receivers.reduce((n, r) => n + r.deliveredIds().size, 0);

  await waitFor(() => received() >= EVENTS * SUBSCRIPTIONS, {
    timeoutMs: 90_000,
    intervalMs: 200,
    describe: () => `${received()} of ${EVENTS * SUBSCRIPTIONS} deliveries arrived\n${h.logs.filter((l) => l.startsWith('!')).slice(-10).join('\n')}`,
  });
  const deliveredMs = Date.now() - started;
  await waitForQuiet(h, 20_000);

  const requests = receivers.reduce((n, r) => n + r.requests.length, 0);
  const unique = received();
  console.log(
    `burst: ${EVENTS} events (PutEvents ${putMs} ms) × ${SUBSCRIPTIONS} subscriptions → ${unique} unique deliveries of ${EVENTS * SUBSCRIPTIONS} expected, ` +
      `${requests} requests, ${requests - unique} duplicates, all delivered after ${(deliveredMs / 1000).toFixed(1)} s`,
  );
  receivers.forEach((r, i) => {
    const ids = r.deliveredIds();
    const missing = [...expected[i]!].filter((id) => !ids.has(id));
    const unexpected = [...ids].filter((id) => !expected[i]!.has(id));
    expect({ receiver: i, missing: missing.length, unexpected: unexpected.length }).toEqual({ receiver: i, missing: 0, unexpected: 0 });
  });
});
