import { Webhook } from 'standardwebhooks';
import { DEFAULT_BREAKER_POLICY, type EndpointHealth } from '../../lambdas/core/breaker';
import { deliver, type DeliveryConfig, type DeliveryPorts, type Lane, type WebhookRequest } from '../../lambdas/core/delivery';
import { RetryableError } from '../../lambdas/core/errors';
import { buildJob, type DeliveryJob } from '../../lambdas/core/job';
import type { OperationalEvent } from '../../lambdas/core/operational';
import type { AttemptResult } from '../../lambdas/core/outcome';
import { silentLog, type MetricName } from '../../lambdas/core/ports';
import { deadlineSpanMs } from '../../lambdas/core/retry';
import { newSecret, type Subscription } from '../../lambdas/core/subscriptions';

const retry = { maxAttempts: 5, schedule: [60, 600, 3600, 21600], jitter: 0.2, maxRetryAfterSeconds: 21600 };
const breaker = { ...DEFAULT_BREAKER_POLICY, threshold: 3, probeIntervalMs: 60_000, disableAfterHours: 120 };
const configFor = (lane: Lane): DeliveryConfig => ({
  lane,
  retry,
  breaker,
  endpoints: { allowPrivate: false, allowHttp: false },
  userAgent: 'statushooks/1.2.3',
  deadlineSpanMs: deadlineSpanMs(retry, 10_000, breaker.probeIntervalMs),
});
const fast = configFor('fast');
const retryLane = configFor('retry');
const now = new Date('2026-11-28T10:00:00Z');
const body = '{"event":"return_order.status.changed","oldStatus":"approved","newStatus":"option_selected","returnOrder":{"number":"100004","uuid":"u-1","externalId":null}}';
const job = buildJob(
  { eventId: 'evt-1', event: 'return_order.status.changed', entityKey: 'returnOrder', tenantId: 'acme', oldStatus: 'approved', newStatus: 'option_selected', entity: { uuid: 'u-1', number: '100004', externalId: null }, time: '2026-11-28T09:59:59Z' },
  'sub_1',
  body,
  new Date('2026-11-28T09:59:59.500Z'),
);
const message = JSON.stringify(job);
/** The job as it comes back for attempt `n` (n-1 attempts made). */
const attemptMessage = (n: number, extra: Partial<DeliveryJob> = {}) => JSON.stringify({ ...job, attempts: n - 1, ...extra });

/** In-memory ports: the health store applies the same counted semantics as the DynamoDB one. */
function setup(subscription: Subscription | undefined, respond: AttemptResult | (() => Promise<AttemptResult>), overrides: Partial<DeliveryPorts> = {}, initialHealth?: EndpointHealth) {
  const sent: WebhookRequest[] = [];
  const visibility: number[] = [];
  const moved: { job: DeliveryJob; delaySeconds: number }[] = [];
  const parked: { body: string; reason: string; attempts: number }[] = [];
  const disabled: string[] = [];
  const announced: OperationalEvent[] = [];
  const slowMarks: number[] = [];
  const counts: Partial<Record<MetricName, number>> = {};
  const byTenant: Record<string, number> = {};
  const state = { health: initialHealth, probes: 0, tokens: new Map<number, number>(), probeWon: true };
  const ports: DeliveryPorts = {
    getSubscription: async () => subscription,
    disableSubscription: async (_t, _s, reason) => {
      disabled.push(reason);
      return 'disabled';
    },
    endpointHealth: async () => state.health,
    saveHealth: async (_t, _s, result) => {
      const was = state.health?.circuit ?? 'closed';
      if (result.write !== 'none') state.health = result.health;
      const transition = result.transition === 'opened' && was === 'closed' ? 'opened' : result.transition === 'closed' && was !== 'closed' ? 'closed' : undefined;
      return { health: state.health ?? result.health, transition };
    },
    acquireProbe: async () => {
      state.probes++;
      return state.probeWon;
    },
    markSlow: async (_t, _s, untilMs) => {
      slowMarks.push(untilMs);
      state.health = { ...(state.health ?? { circuit: 'closed', consecutiveFailures: 0 }), slowUntil: untilMs };
    },
    takeToken: async (_t, _s, max, nowMs) => {
      const second = Math.floor(nowMs / 1000);
      const taken = state.tokens.get(second) ?? 0;
      if (taken >= max) return false;
      state.tokens.set(second, taken + 1);
      return true;
    },
    markDisabled: async (_t, _s, at) => {
      if (state.health) state.health = { ...state.health, disabledAt: at };
    },
    resetHealth: async (_t, _s, disabledAt) => {
      if (state.health?.disabledAt === disabledAt) state.health = undefined;
    },
    publishOperational: async (event) => void announced.push(event),
    send: async (request) => {
      sent.push(request);
      return typeof respond === 'function' ? respond() : respond;
    },
    retryLater: async (s) => void visibility.push(s),
    toRetryLane: async (j, delaySeconds) => void moved.push({ job: j, delaySeconds }),
    park: async (b, reason, attempts) => void parked.push({ body: b, reason, attempts }),
    now: () => now,
    rng: () => 0.5,
    log: silentLog,
    metrics: {
      count: (name, n = 1) => void (counts[name] = (counts[name] ?? 0) + n),
      milliseconds: () => undefined,
      countForTenant: (name, tenantId, n = 1) => void (byTenant[`${name} ${tenantId}`] = (byTenant[`${name} ${tenantId}`] ?? 0) + n),
    },
    ...overrides,
  };
  return { ports, sent, visibility, moved, parked, disabled, announced, slowMarks, counts, byTenant, state };
}

const secret = newSecret();
const active: Subscription = { tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://hooks.example.com/in', events: ['*'], secret, state: 'active' };
const ok: AttemptResult = { kind: 'response', status: 200, durationMs: 12 };
const fail500: AttemptResult = { kind: 'response', status: 500, durationMs: 12 };
const timeout: AttemptResult = { kind: 'error', error: 'timeout', message: 'no response within 3000 ms', durationMs: 3000 };
const openCircuit = (openedAt: string, extra: Partial<EndpointHealth> = {}): EndpointHealth => ({
  circuit: 'open',
  consecutiveFailures: 3,
  firstFailureAt: '2026-11-28T09:50:00.000Z',
  lastFailureAt: openedAt,
  lastError: 'HTTP 500',
  openedAt,
  ...extra,
});

describe('delivery: an attempt', () => {
  it('posts the exact body, signed, with the contract headers', async () => {
    const t = setup(active, ok);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toEqual({ result: 'delivered', status: 200 });
    const request = t.sent[0]!;
    expect(request.url.href).toBe('https://hooks.example.com/in');
    expect(request.body).toBe(body);
    expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'statushooks/1.2.3', 'webhook-id': job.deliveryId, 'webhook-timestamp': String(now.getTime() / 1000) });
    const fresh = setup(active, ok, { now: () => new Date() });
    await deliver(message, 1, fresh.ports, fast);
    expect(new Webhook(secret).verify(fresh.sent[0]!.body, fresh.sent[0]!.headers)).toEqual(JSON.parse(body));
    expect(t.counts).toMatchObject({ DeliveriesSucceeded: 1 });
    // A healthy endpoint that stays healthy costs no health write.
    expect(t.state.health).toBeUndefined();
  });

  it('signs with both secrets while a rotation is in its grace period', async () => {
    const previousSecret = newSecret();
    const t = setup({ ...active, previousSecret, previousSecretExpiresAt: '2099-01-01T00:00:00Z' }, ok, { now: () => new Date() });
    await deliver(message, 1, t.ports, fast);
    const { headers } = t.sent[0]!;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(previousSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
  });
});

describe('delivery: failed attempts continue in the retry lane, counted in the job', () => {
  it('re-queues a failed first attempt on the retry lane with attempts 1 and the schedule delay; the record is done', async () => {
    const t = setup(active, fail500);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'rescheduled', delaySeconds: 60 });
    expect(t.moved).toEqual([{ job: { ...job, attempts: 1 }, delaySeconds: 60 }]);
    expect(t.visibility).toEqual([]);
    expect(t.counts).toMatchObject({ DeliveriesFailed: 1 });
    expect(t.state.health).toMatchObject({ circuit: 'closed', consecutiveFailures: 1, lastError: 'HTTP 500' });
  });

  it('a delay longer than SQS allows rides in notBefore; a job received before it waits without a request', async () => {
    const t = setup(active, fail500);
    await deliver(attemptMessage(3), 3, t.ports, retryLane);
    expect(t.moved[0]).toEqual({ job: { ...job, attempts: 3, notBefore: now.getTime() + 3600_000 }, delaySeconds: 900 });

    const early = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('must not be read')) });
    await expect(deliver(JSON.stringify(t.moved[0]!.job), 1, early.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(early.visibility).toEqual([3600]);
    expect(early.sent).toHaveLength(0);
  });

  it('honours Retry-After on 429', async () => {
    const t = setup(active, { kind: 'response', status: 429, retryAfter: '900', durationMs: 1 });
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'rescheduled', delaySeconds: 900 });
  });

  it('parks the job with the last error after maxAttempts real attempts, counted from the job not the receive count', async () => {
    const t = setup(active, { kind: 'error', error: 'timeout', message: 'no response within 10000 ms', durationMs: 10000 });
    // Received many times (waits), but only 4 attempts were made: this is the 5th and last.
    await expect(deliver(attemptMessage(5), 40, t.ports, retryLane)).resolves.toMatchObject({ result: 'parked' });
    expect(t.parked).toEqual([{ body: attemptMessage(5), reason: 'failed 5 attempts; last: timeout: no response within 10000 ms', attempts: 5 }]);
    expect(t.counts).toMatchObject({ DeliveriesDeadLettered: 1 });
    // Failures are counted once more per tenant, so an operator sees whose endpoints fail.
    expect(t.byTenant).toEqual({ 'DeliveriesFailed acme': 1, 'DeliveriesDeadLettered acme': 1 });
  });

  it('a delivered job adds no per-tenant metric (they grow with failing tenants, not with deliveries)', async () => {
    const t = setup(active, ok);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'delivered' });
    expect(t.byTenant).toEqual({});
    expect(t.counts).toMatchObject({ DeliveriesSucceeded: 1 });
  });

  it('counts attempts by the receive count for a job queued before jobs carried them', async () => {
    const { attempts: _a, queuedAt: _q, ...legacy } = job;
    const t = setup(active, fail500);
    await expect(deliver(JSON.stringify(legacy), 5, t.ports, fast)).resolves.toMatchObject({ result: 'parked', reason: 'failed 5 attempts; last: HTTP 500' });
  });

  it('parks a job that was tried and is past its deadline, without a request; never one that was not tried', async () => {
    const late = new Date(Date.parse(job.queuedAt!) + fast.deadlineSpanMs + 1000);
    const tried = setup(active, ok, { now: () => late }, { circuit: 'closed', consecutiveFailures: 2, lastError: 'HTTP 502' });
    await expect(deliver(attemptMessage(3), 9, tried.ports, retryLane)).resolves.toMatchObject({ result: 'parked', reason: expect.stringMatching(/^not delivered within its deadline \(15\.\d h from 2026-11-28T09:59:59.500Z\) after 2 attempts; last error: HTTP 502$/) });
    expect(tried.sent).toHaveLength(0);

    const untried = setup(active, ok, { now: () => late });
    await expect(deliver(attemptMessage(1), 9, untried.ports, retryLane)).resolves.toEqual({ result: 'delivered', status: 200 });
  });

  it('disables the subscription on 410 Gone, parks the job and tells operators', async () => {
    const t = setup(active, { kind: 'response', status: 410, durationMs: 3 });
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'parked', reason: '410 Gone: subscription disabled' });
    expect(t.disabled[0]).toContain('410 Gone');
    expect(t.announced.map((e) => e.detailType)).toEqual(['statushooks.subscription.disabled']);
    expect(t.announced[0]!.detail).toMatchObject({ tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://hooks.example.com/in', reason: t.disabled[0] });
  });

  it.each([
    ['deleted', undefined, 'subscription no longer exists'],
    ['paused', { ...active, state: 'paused' as const }, 'subscription is paused'],
    ['disabled', { ...active, state: 'disabled' as const }, 'subscription is disabled'],
  ])('drops the job of a %s subscription without sending', async (_label, subscription, reason) => {
    const t = setup(subscription, ok);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toEqual({ result: 'dropped', reason });
    expect(t.sent).toHaveLength(0);
    expect(t.counts).toMatchObject({ DeliveriesDropped: 1 });
  });

  it('parks at once a job whose endpoint the guard refuses; that says nothing about the endpoint health', async () => {
    const t = setup({ ...active, url: 'https://169.254.169.254/latest' }, ok);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'parked', reason: expect.stringContaining('endpoint blocked') });
    expect(t.sent).toHaveLength(0);
    expect(t.state.health).toBeUndefined();
  });

  it('parks a malformed job as it is', async () => {
    const t = setup(active, ok);
    await expect(deliver('{"nope":true}', 1, t.ports, fast)).resolves.toMatchObject({ result: 'parked', reason: expect.stringContaining('malformed job') });
    expect(t.parked[0]!.body).toBe('{"nope":true}');
  });
});

describe('delivery: lanes', () => {
  it.each<[string, EndpointHealth]>([
    ['an open circuit', openCircuit('2026-11-28T09:59:00.000Z')],
    ['a recent failure', { circuit: 'closed', consecutiveFailures: 1, lastError: 'HTTP 500' }],
    ['a slow mark', { circuit: 'closed', consecutiveFailures: 0, slowUntil: now.getTime() + 60_000 }],
  ])('the fast lane does not try a job of an endpoint with %s: it moves to the retry lane unchanged (not an attempt)', async (_label, health) => {
    const t = setup(active, ok, {}, health);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'rescheduled', delaySeconds: 0 });
    expect(t.sent).toHaveLength(0);
    expect(t.moved).toEqual([{ job, delaySeconds: 0 }]);
  });

  it('a fast-lane timeout is an attempt that marks the endpoint slow and continues in the retry lane at once, without counting towards the breaker', async () => {
    const t = setup(active, timeout);
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'rescheduled', delaySeconds: 0 });
    expect(t.moved).toEqual([{ job: { ...job, attempts: 1 }, delaySeconds: 0 }]);
    expect(t.slowMarks).toEqual([now.getTime() + breaker.slowForMs]);
    expect(t.state.health?.consecutiveFailures ?? 0).toBe(0);
  });

  it('a fast-lane request still unanswered after slowAfterMs marks the endpoint slow while it goes on', async () => {
    let answer!: (r: AttemptResult) => void;
    const t = setup(active, () => new Promise((resolve) => (answer = resolve)), {}, undefined);
    const delivering = deliver(message, 1, t.ports, { ...fast, breaker: { ...breaker, slowAfterMs: 20 } });
    await new Promise((r) => setTimeout(r, 60));
    expect(t.slowMarks).toHaveLength(1);
    answer(ok);
    await expect(delivering).resolves.toEqual({ result: 'delivered', status: 200 });
  });

  it('an endpoint marked slow while its request waited stays marked in what is recorded, even when the answer then came in time', async () => {
    let answer!: (r: AttemptResult) => void;
    const recorded: (EndpointHealth | undefined)[] = [];
    const t = setup(active, () => new Promise((resolve) => (answer = resolve)), {}, undefined);
    const saveHealth = t.ports.saveHealth;
    t.ports = { ...t.ports, saveHealth: async (tenantId, subscriptionId, result, nowMs) => (recorded.push(result.health), saveHealth(tenantId, subscriptionId, result, nowMs)) };
    const delivering = deliver(message, 1, t.ports, { ...fast, breaker: { ...breaker, slowAfterMs: 20 } });
    await new Promise((r) => setTimeout(r, 60));
    answer(ok);
    await expect(delivering).resolves.toEqual({ result: 'delivered', status: 200 });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.slowUntil).toBeGreaterThan(now.getTime());
  });

  it('a request marked slow that then times out is marked once, not twice', async () => {
    let answer!: (r: AttemptResult) => void;
    const t = setup(active, () => new Promise((resolve) => (answer = resolve)), {}, undefined);
    const delivering = deliver(message, 1, t.ports, { ...fast, breaker: { ...breaker, slowAfterMs: 20 } });
    await new Promise((r) => setTimeout(r, 60));
    answer(timeout);
    await expect(delivering).resolves.toMatchObject({ result: 'rescheduled', delaySeconds: 0 });
    expect(t.slowMarks).toHaveLength(1);
    expect(t.state.health?.consecutiveFailures ?? 0).toBe(0);
  });

  it('the retry lane sends to an endpoint that is slow or failing but whose circuit is closed', async () => {
    const t = setup(active, ok, {}, { circuit: 'closed', consecutiveFailures: 2, firstFailureAt: '2026-11-28T09:58:00.000Z', slowUntil: now.getTime() + 60_000 });
    await expect(deliver(attemptMessage(2), 1, t.ports, retryLane)).resolves.toEqual({ result: 'delivered', status: 200 });
    expect(t.state.health).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, lastSuccessAt: now.toISOString() });
  });
});

describe('delivery: circuit breaker', () => {
  it('opens after threshold consecutive failures and tells operators once', async () => {
    const t = setup(active, fail500, {}, { circuit: 'closed', consecutiveFailures: 2, firstFailureAt: '2026-11-28T09:58:00.000Z', lastFailureAt: '2026-11-28T09:59:00.000Z', failingSince: '2026-11-28T09:59:00.000Z' });
    await deliver(attemptMessage(3), 1, t.ports, retryLane);
    expect(t.state.health).toMatchObject({ circuit: 'open', consecutiveFailures: 3 });
    expect(t.announced.map((e) => e.detailType)).toEqual(['statushooks.endpoint.failing']);
    // Since the first failure that no success can have followed unseen (breaker.failingSinceAt).
    expect(t.announced[0]!.detail).toMatchObject({ since: '2026-11-28T09:59:00.000Z', reason: '3 consecutive failed attempts; last: HTTP 500' });
    expect(t.counts).toMatchObject({ CircuitsOpened: 1 });
  });

  it('a job behind an open circuit waits by visibility until the next probe: no request, no attempt', async () => {
    const t = setup(active, ok, {}, openCircuit('2026-11-28T09:59:30.000Z'));
    await expect(deliver(attemptMessage(2), 7, t.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(t.sent).toHaveLength(0);
    expect(t.moved).toEqual([]);
    expect(t.parked).toEqual([]);
    // 30 s until the probe is due, at least (60 s interval from 09:59:30).
    expect(t.visibility[0]).toBeGreaterThanOrEqual(30);
    expect(t.counts).toMatchObject({ DeliveriesDeferred: 1 });
  });

  it('a job that waited almost as often as the retry lane redrive allows waits on as a new message, not by visibility', async () => {
    // Each wait is a receive: a job behind a long-open circuit (or a rate limit's backlog) would
    // otherwise reach the redrive's 1000 receives and be moved to the DLQ without a reason.
    for (const [receiveCount, renewed] of [[899, false], [900, true], [1000, true]] as const) {
      const t = setup(active, ok, {}, openCircuit('2026-11-28T09:59:30.000Z'));
      const report = deliver(attemptMessage(2), receiveCount, t.ports, retryLane);
      if (renewed) {
        await expect(report).resolves.toMatchObject({ result: 'rescheduled' });
        expect(t.moved).toHaveLength(1);
        expect(t.moved[0]!.job).toEqual(JSON.parse(attemptMessage(2)));
        expect(t.moved[0]!.delaySeconds).toBeGreaterThanOrEqual(30);
        expect(t.visibility).toEqual([]);
      } else {
        await expect(report).rejects.toBeInstanceOf(RetryableError);
        expect(t.moved).toEqual([]);
        expect(t.visibility).toHaveLength(1);
      }
      expect(t.sent).toHaveLength(0);
    }
  });

  it('once the probe is due, the job that wins the lease is sent; success closes the circuit and tells operators', async () => {
    const t = setup(active, ok, {}, openCircuit('2026-11-28T09:58:00.000Z'));
    await expect(deliver(attemptMessage(2), 3, t.ports, retryLane)).resolves.toEqual({ result: 'delivered', status: 200 });
    expect(t.state.probes).toBe(1);
    expect(t.state.health).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    expect(t.announced.map((e) => e.detailType)).toEqual(['statushooks.endpoint.recovered']);
    expect(t.announced[0]!.detail.reason).toBe('delivered again after 3 consecutive failed attempts');
  });

  it('a job that loses the probe lease waits', async () => {
    const t = setup(active, ok, {}, openCircuit('2026-11-28T09:58:00.000Z'));
    t.state.probeWon = false;
    await expect(deliver(attemptMessage(2), 3, t.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(t.sent).toHaveLength(0);
    expect(t.visibility).toHaveLength(1);
  });

  it('a failed probe keeps the circuit open and costs the job one attempt', async () => {
    const t = setup(active, fail500, {}, openCircuit('2026-11-28T09:58:00.000Z'));
    await expect(deliver(attemptMessage(2), 3, t.ports, retryLane)).resolves.toMatchObject({ result: 'rescheduled' });
    expect(t.moved[0]!.job.attempts).toBe(2);
    expect(t.state.health).toMatchObject({ circuit: 'open', openedAt: now.toISOString(), consecutiveFailures: 4 });
    expect(t.announced).toEqual([]);
  });
});

describe('delivery: sustained failure disables', () => {
  it('disables a subscription failing without a success for disableAfterHours, parks the job and tells operators', async () => {
    const firstFailureAt = new Date(now.getTime() - 121 * 3600_000).toISOString();
    const failingSince = firstFailureAt;
    const t = setup(active, fail500, {}, { circuit: 'closed', consecutiveFailures: 1, firstFailureAt, lastFailureAt: failingSince, failingSince });
    await expect(deliver(attemptMessage(2), 1, t.ports, retryLane)).resolves.toMatchObject({ result: 'parked', reason: expect.stringMatching(/^subscription disabled after sustained failure; no successful delivery since /) });
    expect(t.disabled[0]).toBe(`no successful delivery since ${failingSince} (120 h allowed; 2 consecutive failed attempts); last: HTTP 500`);
    expect(t.announced.map((e) => e.detailType)).toEqual(['statushooks.subscription.disabled']);
    expect(t.announced[0]!.detail).toMatchObject({ reason: t.disabled[0], since: failingSince });
  });

  it('a subscription made active again after a delivery function disabled it (any writer) starts healthy; a copy from before the disabling does not', async () => {
    const firstFailureAt = new Date(now.getTime() - 130 * 3600_000).toISOString();
    const disabledAt = new Date(now.getTime() - 5 * 3600_000).toISOString();
    const marked: EndpointHealth = { circuit: 'closed', consecutiveFailures: 4, firstFailureAt, lastFailureAt: disabledAt, failingSince: firstFailureAt, disabledAt };

    // Resumed by a direct write that kept updatedAt (the disabling set it, just after the mark): reset, retried.
    const resumed = setup({ ...active, updatedAt: new Date(now.getTime() - 5 * 3600_000 + 5).toISOString() }, fail500, {}, marked);
    await expect(deliver(attemptMessage(2), 1, resumed.ports, retryLane)).resolves.toMatchObject({ result: 'rescheduled' });
    expect(resumed.disabled).toEqual([]);
    expect(resumed.state.health).toMatchObject({ consecutiveFailures: 1, firstFailureAt: now.toISOString() });
    expect(resumed.state.health).not.toHaveProperty('disabledAt');

    // A cached copy of the subscription from before the disabling: the streak still counts.
    const stale = setup({ ...active, updatedAt: new Date(now.getTime() - 200 * 3600_000).toISOString() }, fail500, {}, marked);
    await expect(deliver(attemptMessage(2), 1, stale.ports, retryLane)).resolves.toMatchObject({ result: 'parked' });
    expect(stale.disabled).toHaveLength(1);
  });

  it('does not disable an endpoint that failed for less than disableAfterHours', async () => {
    const t = setup(active, fail500, {}, { circuit: 'closed', consecutiveFailures: 1, firstFailureAt: new Date(now.getTime() - 3600_000).toISOString() });
    await expect(deliver(attemptMessage(2), 1, t.ports, retryLane)).resolves.toMatchObject({ result: 'rescheduled' });
    expect(t.disabled).toEqual([]);
  });
});

describe('delivery: rate limit', () => {
  it('sends while tokens last; a job without a token waits (not an attempt), counted as rate-limited', async () => {
    const limited = { ...active, maxRequestsPerSecond: 2 };
    const t = setup(limited, ok);
    const results = await Promise.allSettled([1, 2, 3].map(() => deliver(message, 1, t.ports, fast)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.result : 'rejected'))).toEqual(['delivered', 'delivered', 'rescheduled']);
    expect(t.sent).toHaveLength(2);
    // The fast lane hands the waiting job to the retry lane, unchanged.
    expect(t.moved).toEqual([{ job, delaySeconds: expect.any(Number) }]);
    expect(t.counts).toMatchObject({ DeliveriesRateLimited: 1, DeliveriesDeferred: 1 });

    const later = setup(limited, ok);
    later.state.tokens.set(Math.floor(now.getTime() / 1000), 2);
    await expect(deliver(attemptMessage(2), 4, later.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(later.sent).toHaveLength(0);
    expect(later.visibility[0]).toBeGreaterThanOrEqual(1);
  });

  it('a job refused again and again on the retry lane comes back spread over 2^(receives - 1) seconds, at most 32', async () => {
    const limited = { ...active, maxRequestsPerSecond: 1 };
    const delays: number[] = [];
    for (const receives of [1, 2, 3, 4, 6, 10]) {
      const t = setup(limited, ok, { rng: () => 0.999, takeToken: async () => false });
      await expect(deliver(attemptMessage(2), receives, t.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
      expect(t.sent).toEqual([]);
      delays.push(t.visibility[0]!);
    }
    // `now` is on a whole second: 1 s to the next window, plus up to the spread.
    expect(delays).toEqual([2, 3, 5, 9, 33, 33]);
  });
});

describe('delivery: health and operational events never hold up a delivery', () => {
  it('delivers when health cannot be read or written, or the operational event cannot be published', async () => {
    const t = setup(active, fail500, {
      endpointHealth: async () => Promise.reject(new Error('DynamoDB down')),
      saveHealth: async () => Promise.reject(new Error('DynamoDB down')),
    });
    await expect(deliver(message, 1, t.ports, fast)).resolves.toMatchObject({ result: 'rescheduled' });

    const u = setup(active, fail500, { publishOperational: async () => Promise.reject(new Error('PutEvents failed')) }, { circuit: 'closed', consecutiveFailures: 2, firstFailureAt: '2026-11-28T09:58:00.000Z' });
    await expect(deliver(attemptMessage(3), 1, u.ports, retryLane)).resolves.toMatchObject({ result: 'rescheduled' });
    expect(u.state.health?.circuit).toBe('open');
    // Nobody was told the circuit opened: counted (the stack alarms on it), besides the error line.
    expect(u.counts).toMatchObject({ OperationalEventFailures: 1, CircuitsOpened: 1 });
  });
});

describe('delivery: one fault path: a dependency of ours failing is a fault, never a failed delivery', () => {
  it('counts a DynamoDB fault as DeliveryFaults, sends nothing, and the same message comes back by the schedule', async () => {
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')) });
    await expect(deliver(attemptMessage(2), 2, t.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(t.counts).toEqual({ DeliveryFaults: 1 });
    expect(t.visibility).toEqual([600]);
    expect(t.sent).toHaveLength(0);
  });

  it('reschedules by visibility when disabling the subscription after a 410 fails', async () => {
    const t = setup(active, { kind: 'response', status: 410, durationMs: 3 }, { disableSubscription: async () => Promise.reject(new Error('DynamoDB down')) });
    await expect(deliver(message, 1, t.ports, fast)).rejects.toThrow('DynamoDB down');
    expect(t.visibility).toEqual([60]);
    expect(t.parked).toHaveLength(0);
    expect(t.counts).toMatchObject({ DeliveryFaults: 1 });
  });

  it('reschedules by visibility when the retry lane cannot be written to', async () => {
    const t = setup(active, fail500, { toRetryLane: async () => Promise.reject(new Error('SQS unavailable')) });
    await expect(deliver(message, 1, t.ports, fast)).rejects.toThrow('SQS unavailable');
    expect(t.visibility).toEqual([60]);
    expect(t.counts).toMatchObject({ DeliveryFaults: 1 });
  });

  it('on the retry lane, when parking after the last attempt fails, the job comes back after the schedule, not at once', async () => {
    // At once, the retry lane's redrive (1000 receives) would let it hit the endpoint again and again.
    const t = setup(active, fail500, { park: async () => Promise.reject(new Error('SQS unavailable')) });
    await expect(deliver(attemptMessage(5), 5, t.ports, retryLane)).rejects.toThrow('could not park the job');
    expect(t.visibility).toEqual([21600]);
    expect(t.sent).toHaveLength(1);
  });

  it('on the retry lane, a fault before the last attempt holds the job for the schedule, not at once', async () => {
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')) });
    await expect(deliver(attemptMessage(5), 1, t.ports, retryLane)).rejects.toThrow('next in 21600s');
    expect(t.visibility).toEqual([21600]);
    expect(t.sent).toHaveLength(0);
    expect(t.parked).toHaveLength(0);
    expect(t.counts).toEqual({ DeliveryFaults: 1 });
  });

  it('on the fast lane too, a fault on the last allowed attempt holds the job for the schedule, not at once (SQS redrive after 5 receives is the safety net)', async () => {
    const oneAttempt = { ...fast, retry: { ...retry, maxAttempts: 1 } };
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')) });
    await expect(deliver(message, 1, t.ports, oneAttempt)).rejects.toThrow('next in 60s');
    expect(t.visibility).toEqual([60]);
  });

  it('on the retry lane, a job received almost as often as the redrive allows carries on as a new message when it faults', async () => {
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')) });
    await expect(deliver(attemptMessage(2), 950, t.ports, retryLane)).resolves.toMatchObject({ result: 'rescheduled', delaySeconds: 600 });
    expect(t.moved).toEqual([{ job: JSON.parse(attemptMessage(2)), delaySeconds: 600 }]);
    expect(t.visibility).toEqual([]);
    // ... and by visibility when the new message cannot be sent.
    const u = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('ThrottlingException')), toRetryLane: async () => Promise.reject(new Error('SQS unavailable')) });
    await expect(deliver(attemptMessage(2), 950, u.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(u.visibility).toEqual([600]);
  });

  it('parks a job that faults after its deadline, with the fault as the reason, whatever its attempts', async () => {
    const late = new Date(Date.parse(job.queuedAt!) + retryLane.deadlineSpanMs + 1000);
    for (const n of [1, 3, 5]) {
      const logged: { state: string; reason?: string }[] = [];
      const deliveryLog = { logQueued: async () => new Map(), logUpdate: async (u: { state: string; reason?: string }) => void logged.push({ state: u.state, reason: u.reason }) };
      const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('subscription item sub_1 is invalid: url: Required')), now: () => late, deliveryLog });
      await expect(deliver(attemptMessage(n), 1, t.ports, retryLane)).resolves.toMatchObject({ result: 'parked' });
      // The delivery log shows the parking and why.
      expect(logged).toEqual([{ state: 'parked', reason: t.parked[0]!.reason }]);
      expect(t.parked).toEqual([{ body: attemptMessage(n), reason: expect.stringMatching(new RegExp(`^not delivered within its deadline \\(.*\\) after ${n - 1} attempts?; last: fault: Error: subscription item sub_1 is invalid: url: Required$`)), attempts: n - 1 }]);
      expect(t.visibility).toEqual([]);
      expect(t.sent).toHaveLength(0);
      expect(t.counts).toMatchObject({ DeliveryFaults: 1, DeliveriesDeadLettered: 1 });
    }
  });

  it('a job past its deadline whose parking fails too comes back (never acknowledged unparked)', async () => {
    const late = new Date(Date.parse(job.queuedAt!) + retryLane.deadlineSpanMs + 1000);
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('down')), park: async () => Promise.reject(new Error('SQS unavailable')), now: () => late });
    await expect(deliver(attemptMessage(3), 3, t.ports, retryLane)).rejects.toBeInstanceOf(RetryableError);
    expect(t.visibility).toEqual([3600]);
    expect(t.parked).toHaveLength(0);
  });

  it('still reports the record failed when its visibility cannot be set', async () => {
    const t = setup(active, ok, { getSubscription: async () => Promise.reject(new Error('down')), retryLater: async () => Promise.reject(new Error('SQS unavailable')) });
    await expect(deliver(message, 1, t.ports, fast)).rejects.toBeInstanceOf(RetryableError);
    expect(t.parked).toHaveLength(0);
  });
});
