import { Webhook } from 'standardwebhooks';
import { deliver, type DeliveryConfig, type DeliveryPorts, type WebhookRequest } from '../../lambdas/core/delivery';
import { RetryableError } from '../../lambdas/core/errors';
import { buildJob } from '../../lambdas/core/job';
import type { AttemptResult } from '../../lambdas/core/outcome';
import { silentLog, type MetricName } from '../../lambdas/core/ports';
import { newSecret, type Subscription } from '../../lambdas/core/subscriptions';

const config: DeliveryConfig = {
  retry: { maxAttempts: 5, schedule: [60, 600, 3600, 21600], jitter: 0.2, maxRetryAfterSeconds: 21600 },
  endpoints: { allowPrivate: false, allowHttp: false },
  userAgent: 'statushooks/1.2.3',
};
const now = new Date('2026-11-28T10:00:00Z');
const body = '{"event":"return_order.status.changed","oldStatus":"approved","newStatus":"option_selected","returnOrder":{"number":"100004","uuid":"u-1","externalId":null}}';
const job = buildJob(
  { eventId: 'evt-1', event: 'return_order.status.changed', entityKey: 'returnOrder', tenantId: 'acme', oldStatus: 'approved', newStatus: 'option_selected', entity: { uuid: 'u-1', number: '100004', externalId: null }, time: '2026-11-28T09:59:59Z' },
  'sub_1',
  body,
);
const message = JSON.stringify(job);

function setup(subscription: Subscription | undefined, respond: AttemptResult | (() => Promise<AttemptResult>), overrides: Partial<DeliveryPorts> = {}) {
  const sent: WebhookRequest[] = [];
  const visibility: number[] = [];
  const parked: { body: string; reason: string; attempts: number }[] = [];
  const disabled: string[] = [];
  const counts: Partial<Record<MetricName, number>> = {};
  const ports: DeliveryPorts = {
    getSubscription: async () => subscription,
    disableSubscription: async (_t, _s, reason) => void disabled.push(reason),
    send: async (request) => {
      sent.push(request);
      return typeof respond === 'function' ? respond() : respond;
    },
    retryLater: async (s) => void visibility.push(s),
    park: async (b, reason, attempts) => void parked.push({ body: b, reason, attempts }),
    now: () => now,
    rng: () => 0.5,
    log: silentLog,
    metrics: { count: (name, n = 1) => void (counts[name] = (counts[name] ?? 0) + n), milliseconds: () => undefined },
    ...overrides,
  };
  return { ports, sent, visibility, parked, disabled, counts };
}

const secret = newSecret();
const active: Subscription = { tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://hooks.example.com/in', events: ['*'], secret, state: 'active' };
const ok: AttemptResult = { kind: 'response', status: 200, durationMs: 12 };
const fail500: AttemptResult = { kind: 'response', status: 500, durationMs: 12 };

describe('delivery', () => {
  it('posts the exact body, signed, with the contract headers', async () => {
    const t = setup(active, ok);
    await expect(deliver(message, 1, t.ports, config)).resolves.toEqual({ result: 'delivered', status: 200 });
    const request = t.sent[0]!;
    expect(request.url.href).toBe('https://hooks.example.com/in');
    expect(request.body).toBe(body);
    expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'statushooks/1.2.3', 'webhook-id': job.deliveryId, 'webhook-timestamp': String(now.getTime() / 1000) });
    const fresh = setup(active, ok, { now: () => new Date() });
    await deliver(message, 1, fresh.ports, config);
    expect(new Webhook(secret).verify(fresh.sent[0]!.body, fresh.sent[0]!.headers)).toEqual(JSON.parse(body));
    expect(t.counts).toMatchObject({ DeliveriesSucceeded: 1 });
  });

  it('delays a failed attempt by the schedule and reports the record failed', async () => {
    const t = setup(active, fail500);
    await expect(deliver(message, 2, t.ports, config)).rejects.toBeInstanceOf(RetryableError);
    expect(t.visibility).toEqual([600]);
    expect(t.parked).toHaveLength(0);
    expect(t.counts).toMatchObject({ DeliveriesFailed: 1 });
  });

  it('honours Retry-After on 429', async () => {
    const t = setup(active, { kind: 'response', status: 429, retryAfter: '900', durationMs: 1 });
    await expect(deliver(message, 1, t.ports, config)).rejects.toThrow('next in 900s');
    expect(t.visibility).toEqual([900]);
  });

  it('parks the job with the last error after the last attempt', async () => {
    const t = setup(active, { kind: 'error', error: 'timeout', message: 'no response within 10000 ms', durationMs: 10000 });
    await expect(deliver(message, 5, t.ports, config)).resolves.toMatchObject({ result: 'parked' });
    expect(t.parked).toEqual([{ body: message, reason: 'failed 5 attempts; last: timeout: no response within 10000 ms', attempts: 5 }]);
    expect(t.visibility).toEqual([]);
    expect(t.counts).toMatchObject({ DeliveriesDeadLettered: 1 });
  });

  it('leaves the job to SQS redrive when it cannot be parked', async () => {
    const t = setup(active, fail500, { park: async () => Promise.reject(new Error('SQS unavailable')) });
    await expect(deliver(message, 5, t.ports, config)).rejects.toThrow('could not park the job');
    expect(t.visibility).toEqual([0]);
  });

  it('disables the subscription on 410 Gone and parks the job', async () => {
    const t = setup(active, { kind: 'response', status: 410, durationMs: 3 });
    await expect(deliver(message, 1, t.ports, config)).resolves.toMatchObject({ result: 'parked', reason: '410 Gone: subscription disabled' });
    expect(t.disabled[0]).toContain('410 Gone');
    expect(t.sent).toHaveLength(1);
  });

  it.each([
    ['deleted', undefined, 'subscription no longer exists'],
    ['paused', { ...active, state: 'paused' as const }, 'subscription is paused'],
    ['disabled', { ...active, state: 'disabled' as const }, 'subscription is disabled'],
  ])('drops the job of a %s subscription without sending', async (_label, subscription, reason) => {
    const t = setup(subscription, ok);
    await expect(deliver(message, 1, t.ports, config)).resolves.toEqual({ result: 'dropped', reason });
    expect(t.sent).toHaveLength(0);
    expect(t.counts).toMatchObject({ DeliveriesDropped: 1 });
  });

  it('parks at once a job whose endpoint the guard refuses', async () => {
    const t = setup({ ...active, url: 'https://169.254.169.254/latest' }, ok);
    await expect(deliver(message, 1, t.ports, config)).resolves.toMatchObject({ result: 'parked', reason: expect.stringContaining('endpoint blocked') });
    expect(t.sent).toHaveLength(0);
  });

  it('parks a malformed job as it is', async () => {
    const t = setup(active, ok);
    await expect(deliver('{"nope":true}', 1, t.ports, config)).resolves.toMatchObject({ result: 'parked', reason: expect.stringContaining('malformed job') });
    expect(t.parked[0]!.body).toBe('{"nope":true}');
  });

  it('retries, never acknowledges, when the subscription cannot be read', async () => {
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')) });
    await expect(deliver(message, 1, t.ports, config)).rejects.toThrow('fault');
    expect(t.visibility).toEqual([60]);
    expect(t.sent).toHaveLength(0);
  });

  it('signs with both secrets while a rotation is in its grace period', async () => {
    const previousSecret = newSecret();
    const t = setup({ ...active, previousSecret, previousSecretExpiresAt: '2099-01-01T00:00:00Z' }, ok, { now: () => new Date() });
    await deliver(message, 1, t.ports, config);
    const { headers } = t.sent[0]!;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(previousSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
  });
  describe('one fault path: a dependency of ours failing is a fault, never a failed delivery, and always reschedules', () => {
    it('counts a DynamoDB fault as DeliveryFaults, not DeliveriesFailed, and sends nothing', async () => {
      const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')) });
      await expect(deliver(message, 2, t.ports, config)).rejects.toBeInstanceOf(RetryableError);
      expect(t.counts).toEqual({ DeliveryFaults: 1 });
      expect(t.visibility).toEqual([600]);
    });

    it('reschedules by the schedule when disabling the subscription after a 410 fails', async () => {
      const t = setup(active, { kind: 'response', status: 410, durationMs: 3 }, { disableSubscription: async () => Promise.reject(new Error('DynamoDB down')) });
      await expect(deliver(message, 1, t.ports, config)).rejects.toThrow('DynamoDB down');
      expect(t.visibility).toEqual([60]);
      expect(t.parked).toHaveLength(0);
      expect(t.counts).toMatchObject({ DeliveryFaults: 1 });
    });

    it('reschedules by the schedule, not at once, when parking fails before the last attempt', async () => {
      const t = setup({ ...active, url: 'https://169.254.169.254/latest' }, ok, { park: async () => Promise.reject(new Error('SQS unavailable')) });
      await expect(deliver(message, 1, t.ports, config)).rejects.toThrow('could not park the job');
      expect(t.visibility).toEqual([60]);
      expect(t.counts).toMatchObject({ DeliveryFaults: 1 });
    });

    it('still reports the record failed when its visibility cannot be set', async () => {
      const t = setup(active, fail500, { retryLater: async () => Promise.reject(new Error('SQS unavailable')) });
      await expect(deliver(message, 1, t.ports, config)).rejects.toBeInstanceOf(RetryableError);
      expect(t.parked).toHaveLength(0);
    });
  });
});
