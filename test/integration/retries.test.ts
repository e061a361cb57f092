/**
 * Delivery semantics (docs/architecture.md §4) through the running pipeline: failed attempts are
 * retried on the schedule with the same webhook-id, a job that keeps failing is parked in the
 * delivery DLQ after maxAttempts, and 410 Gone disables the subscription.
 */
import { readFileSync } from 'node:fs';
import type { EventName } from '../../lambdas/core/catalog';
import { type Answer, type Harness, Receiver, drain, getSubscription, putChanges, pipelineSuite, subscribe, verify, waitFor, waitForLogLine, waitForQuiet } from './helpers';

jest.setTimeout(60_000);

const MAX_ATTEMPTS = 3;
const HTTP_TIMEOUT_MS = 1_000;
let h: Harness;

const { receivers } = pipelineSuite({ retrySchedule: [1, 1, 1, 1], maxAttempts: MAX_ATTEMPTS, httpTimeoutMs: HTTP_TIMEOUT_MS }, (harness) => (h = harness));

const EVENT: EventName = 'return_order_parcel.status.changed';
let counter = 0;

/** A receiver answering `failures` first and 200 after, subscribed for its own tenant; one event sent. */
async function scenario(answers: (n: number) => Answer) {
  const tenantId = `retry-shop-${++counter}`;
  const r = await Receiver.start((n) => answers(n));
  receivers.push(r);
  const sub = await subscribe(h, { tenantId, url: r.url });
  const [eventId] = await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'created', newStatus: 'in_transit', uuid: `b0000000-0000-4000-8000-00000000000${counter}` }]);
  return { r, sub, eventId: eventId! };
}

const firstFail = (k: number, failure: Answer) => (n: number): Answer => (n <= k ? failure : 200);

test.each<[string, Answer, number]>([
  ['500 errors', 500, 2],
  ['a timeout (the receiver hangs past the HTTP timeout)', 'hang', 1],
  ['connection resets', 'reset', 2],
])('a receiver that fails the first attempts with %s gets the delivery on the next attempt, with the same webhook-id', async (_name, failure, k) => {
  const { r, sub } = await scenario(firstFail(k, failure));

  const delivered = await waitFor(() => r.requests.find((q) => q.answer === 200), {
    timeoutMs: 20_000,
    describe: () => `no successful attempt; the receiver saw ${r.requests.length} request(s): ${r.requests.map((q) => q.answer).join(', ')}\n${h.logs.slice(-8).join('\n')}`,
  });

  const id = delivered.headers['webhook-id']!;
  const attempts = r.attemptsFor(id);
  expect(attempts.map((q) => q.answer)).toEqual([...Array<Answer>(k).fill(failure), 200]);
  expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([id]));
  // Each attempt is signed afresh (its own timestamp) and verifies; the body never changes.
  for (const attempt of attempts) expect(() => verify(sub.secret, attempt)).not.toThrow();
  expect(new Set(attempts.map((q) => q.body)).size).toBe(1);
  // Retries wait for the schedule (1 s ± 20 %), not immediately; a hang adds its timeout.
  for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.at - attempts[i - 1]!.at).toBeGreaterThanOrEqual(700);
});

test('a receiver that always fails is tried exactly maxAttempts times, then the job is in the delivery DLQ with its delivery id', async () => {
  const { r, sub, eventId } = await scenario(() => 503);

  const parked = await waitFor(
    async () => {
      const messages = await drain(h, h.runtime.outputs.DeliveryDlqUrl!);
      return messages.find((m) => JSON.parse(m.Body!).eventId === eventId);
    },
    { timeoutMs: 25_000, describe: () => `no job of event ${eventId} in the delivery DLQ; the receiver saw ${r.requests.length} attempt(s)\n${h.logs.slice(-8).join('\n')}` },
  );

  const job = JSON.parse(parked.Body!) as { deliveryId: string; subscriptionId: string };
  expect(job.subscriptionId).toBe(sub.subscriptionId);
  expect(r.requests).toHaveLength(MAX_ATTEMPTS);
  expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([job.deliveryId]));
  expect(parked.MessageAttributes?.['statushooks-reason']?.StringValue).toMatch(/503/);
  // Nothing more arrives once it is parked: the delivery queue no longer holds the job.
  await waitForQuiet(h, 20_000);
  expect(r.requests).toHaveLength(MAX_ATTEMPTS);
});

test('410 Gone disables the subscription: one attempt, state "disabled" with a reason', async () => {
  const { r, sub } = await scenario(() => 410);

  const item = await waitFor(
    async () => {
      const current = await getSubscription(h, sub.tenantId, sub.subscriptionId);
      return current?.state === 'disabled' ? current : undefined;
    },
    { timeoutMs: 20_000, describe: () => `subscription ${sub.subscriptionId} is still not disabled; the receiver saw ${r.requests.length} request(s)` },
  );

  expect(String(item.disabledReason)).toMatch(/410/);
  expect(r.requests).toHaveLength(1);
  // A later event for the disabled subscription is not delivered.
  const [laterEventId] = await putChanges(h, [{ event: EVENT, tenantId: sub.tenantId, oldStatus: 'in_transit', newStatus: 'delivered', uuid: 'c0000000-0000-4000-8000-000000000001' }]);
  // Fan-out skips it, or (while its 5 s cache still holds the active item) the delivery function drops it.
  await waitForLogLine(h, ['no matching subscriptions', 'delivery dropped'], { eventId: laterEventId });
  expect(r.requests).toHaveLength(1);
});

test('the functions log every attempt with its ids, but never a secret or a URL query string', async () => {
  // Prepare: a subscription whose URL carries a token in its query, to a receiver that fails.
  const tenantId = `log-shop-${++counter}`;
  const r = await Receiver.start(() => 500);
  receivers.push(r);
  const sub = await subscribe(h, { tenantId, url: `${r.url}?token=query-token-must-not-be-logged` });
  const [eventId] = await putChanges(h, [{ event: EVENT, tenantId, oldStatus: 'created', newStatus: 'in_transit', uuid: 'd0000000-0000-4000-8000-000000000001' }]);

  // Act: wait until its attempts are over and the job is parked.
  await waitFor(async () => (await drain(h, h.runtime.outputs.DeliveryDlqUrl!)).find((m) => JSON.parse(m.Body!).eventId === eventId), {
    timeoutMs: 25_000,
    describe: () => `no job of event ${eventId} in the delivery DLQ`,
  });

  // Assess: the function logs name the delivery, its attempts and the endpoint without its query.
  const log = readFileSync(h.runtime.logFile, 'utf8');
  const deliveryId = r.requests[0]!.headers['webhook-id']!;
  const attemptLines = log.split('\n').filter((line) => line.includes('"delivery attempt"') && line.includes(deliveryId));
  expect(attemptLines).toHaveLength(MAX_ATTEMPTS);
  // Each line is "<time> <function> <stream> <the function's JSON log line>".
  const firstAttempt = JSON.parse(attemptLines[0]!.slice(attemptLines[0]!.indexOf('{')));
  expect(firstAttempt).toMatchObject({ eventId, deliveryId, tenantId, subscriptionId: sub.subscriptionId, attempt: 1, statusCode: 500 });
  expect(log).toContain(`${new URL(r.url).host}${new URL(r.url).pathname}?…`);
  expect(log).not.toContain('query-token-must-not-be-logged');
  expect(log).not.toContain(sub.secret);
  expect(log).not.toContain(sub.secret.slice('whsec_'.length));
});
