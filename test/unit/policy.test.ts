import { Webhook } from 'standardwebhooks';
import { DEFAULTS, type RetryPolicy } from '../../lambdas/core/config';
import { classify } from '../../lambdas/core/outcome';
import { nextDelay, parseRetryAfter } from '../../lambdas/core/retry';
import { signatureHeaders } from '../../lambdas/core/signing';
import { deliveryIdFor, matches, newSecret, parseSubscription, signingSecrets, type Subscription } from '../../lambdas/core/subscriptions';

const policy: RetryPolicy = { maxAttempts: 5, schedule: [60, 600, 3600, 21600], jitter: 0.2, maxRetryAfterSeconds: 21600 };
const middle = () => 0.5; // jitter factor exactly 1

describe('retry policy', () => {
  it.each([
    [1, 60],
    [2, 600],
    [3, 3600],
    [4, 21600],
  ])('after failed attempt %i waits %i s', (attempt, seconds) => {
    expect(nextDelay(policy, attempt, undefined, middle)).toEqual({ kind: 'retry', delaySeconds: seconds, reason: 'schedule' });
  });

  it('parks the job after the last attempt, whatever the receiver asked', () => {
    expect(nextDelay(policy, 5, undefined, middle)).toEqual({ kind: 'park' });
    expect(nextDelay(policy, 5, 10, middle)).toEqual({ kind: 'park' });
    expect(nextDelay({ ...policy, maxAttempts: 3 }, 3, undefined, middle)).toEqual({ kind: 'park' });
  });

  it('keeps jitter within ±20 %', () => {
    expect(nextDelay(policy, 2, undefined, () => 0)).toMatchObject({ delaySeconds: 480 });
    expect(nextDelay(policy, 2, undefined, () => 0.999999)).toMatchObject({ delaySeconds: 720 });
    for (let i = 0; i < 200; i++) {
      const d = nextDelay(policy, 1, undefined, Math.random);
      expect(d.kind === 'retry' && d.delaySeconds >= 48 && d.delaySeconds <= 72).toBe(true);
    }
  });

  it('repeats the last scheduled delay when attempts outnumber the schedule', () => {
    expect(nextDelay({ ...policy, maxAttempts: 8, schedule: [5, 10] }, 6, undefined, middle)).toMatchObject({ delaySeconds: 10 });
  });

  it('honours a Retry-After longer than the schedule, clamped to the bound', () => {
    expect(nextDelay(policy, 1, 120, middle)).toEqual({ kind: 'retry', delaySeconds: 120, reason: 'retry-after' });
    expect(nextDelay(policy, 2, 3000, middle)).toEqual({ kind: 'retry', delaySeconds: 3000, reason: 'retry-after' });
    expect(nextDelay(policy, 1, 10 ** 9, middle)).toEqual({ kind: 'retry', delaySeconds: 21600, reason: 'retry-after' });
  });

  it.each([
    [1, 0, 60],
    [1, 1, 60],
    [2, 30, 600],
    [4, 600, 21600],
  ])('never retries sooner than the schedule: attempt %i with Retry-After %i waits %i s', (attempt, retryAfter, seconds) => {
    expect(nextDelay(policy, attempt, retryAfter, middle)).toEqual({ kind: 'retry', delaySeconds: seconds, reason: 'schedule' });
  });

  it('an endpoint answering "503, Retry-After: 0" still gets the whole schedule before its job is parked', () => {
    const waits: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const d = nextDelay(policy, attempt, 0, middle);
      if (d.kind === 'park') break;
      waits.push(d.delaySeconds);
    }
    expect(waits).toEqual([60, 600, 3600, 21600]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = new Date('2026-11-28T10:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:02:00 GMT', now)).toBe(120);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('uses the documented defaults', () => {
    expect(DEFAULTS.retrySchedule).toEqual([60, 600, 3600, 21600]);
    expect(DEFAULTS.maxAttempts).toBe(5);
  });
});

describe('outcome classification', () => {
  const now = new Date('2026-11-28T10:00:00Z');
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [301, 'retryable'],
    [400, 'retryable'],
    [404, 'retryable'],
    [410, 'gone'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
  ])('HTTP %i is %s', (status, kind) => {
    expect(classify({ kind: 'response', status, durationMs: 5 }, now).kind).toBe(kind);
  });

  it('takes Retry-After only from 429 and 503', () => {
    expect(classify({ kind: 'response', status: 429, retryAfter: '90', durationMs: 1 }, now)).toMatchObject({ retryAfterSeconds: 90 });
    expect(classify({ kind: 'response', status: 503, retryAfter: '5', durationMs: 1 }, now)).toMatchObject({ retryAfterSeconds: 5 });
    expect(classify({ kind: 'response', status: 500, retryAfter: '90', durationMs: 1 }, now)).not.toHaveProperty('retryAfterSeconds');
  });

  it('says that redirects are not followed', () => {
    expect(classify({ kind: 'response', status: 302, durationMs: 1 }, now)).toMatchObject({ reason: 'HTTP 302 (redirects are not followed)' });
  });

  it('retries timeouts, connection and DNS errors; a blocked endpoint is permanent', () => {
    expect(classify({ kind: 'error', error: 'timeout', message: 'slow', durationMs: 1 }, now).kind).toBe('retryable');
    expect(classify({ kind: 'error', error: 'connection', message: 'ECONNRESET', durationMs: 1 }, now).kind).toBe('retryable');
    expect(classify({ kind: 'error', error: 'dns', message: 'ENOTFOUND', durationMs: 1 }, now).kind).toBe('retryable');
    expect(classify({ kind: 'error', error: 'blocked', message: 'private', durationMs: 1 }, now)).toMatchObject({ kind: 'permanent', reason: 'endpoint blocked: private' });
  });
});

function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return { tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://example.com/hook', events: ['*'], secret: newSecret(), state: 'active', ...overrides };
}

describe('subscription matching', () => {
  const change = { event: 'sales_order_parcel.status.changed' as const, newStatus: 'delivered' };
  it.each([
    ['a wildcard', {}, true],
    ['the event by name', { events: ['sales_order_parcel.status.changed'] }, true],
    ['another event only', { events: ['sales_order.status.changed'] }, false],
    ['a status filter with the new status', { statusFilter: ['delivered', 'lost'] }, true],
    ['a status filter without it', { statusFilter: ['lost'] }, false],
    ['an empty status filter', { statusFilter: [] }, false],
    ['a paused subscription', { state: 'paused' as const }, false],
    ['a disabled subscription', { state: 'disabled' as const }, false],
  ])('%s → %s', (_label, overrides, expected) => {
    expect(matches(subscription(overrides as Partial<Subscription>), change)).toBe(expected);
  });
});

describe('subscription items', () => {
  const item = { tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://example.com/hook', events: ['*'], secret: newSecret(), state: 'active' };

  it('accepts a valid item', () => {
    expect(parseSubscription({ ...item, statusFilter: ['delivered'] }).statusFilter).toEqual(['delivered']);
  });

  it.each([
    ['an empty status filter', { statusFilter: [] }, 'statusFilter: must list at least one status, or be absent'],
    ['an empty status value', { statusFilter: [''] }, 'status filter values must be non-empty'],
    ['an unknown event', { events: ['return_order.changed'] }, 'unknown event "return_order.changed"'],
    ['no events', { events: [] }, 'must list at least one event name'],
    ['a secret without the whsec_ prefix', { secret: 'abc' }, 'secret: must be "whsec_"'],
    ['a too short secret', { secret: `whsec_${Buffer.alloc(8).toString('base64')}` }, 'secret: must be "whsec_"'],
    ['an unknown state', { state: 'deleted' }, 'state'],
  ])('refuses %s with a readable reason', (_label, overrides, reason) => {
    expect(() => parseSubscription({ ...item, ...overrides })).toThrow(reason);
  });
});

describe('delivery id', () => {
  it('is the same for the same event and subscription, and differs otherwise', () => {
    expect(deliveryIdFor('evt-1', 'sub_1')).toBe(deliveryIdFor('evt-1', 'sub_1'));
    expect(deliveryIdFor('evt-1', 'sub_1')).not.toBe(deliveryIdFor('evt-1', 'sub_2'));
    expect(deliveryIdFor('evt-1', 'sub_1')).not.toBe(deliveryIdFor('evt-2', 'sub_1'));
    expect(deliveryIdFor('evt-1', 'sub_1')).toMatch(/^msg_[0-9a-f]{32}$/);
  });
});

describe('signing', () => {
  const body = '{"event":"return_order.status.changed","oldStatus":"a","newStatus":"b","returnOrder":{"number":null,"uuid":"u","externalId":null}}';
  const at = new Date();

  it('produces headers that standardwebhooks verifies', () => {
    const secret = newSecret();
    const headers = signatureHeaders('msg_1', body, [secret], at);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('fails verification for a changed body or another secret', () => {
    const secret = newSecret();
    const headers = signatureHeaders('msg_1', body, [secret], at);
    expect(() => new Webhook(secret).verify(body.replace('"b"', '"c"'), { ...headers })).toThrow();
    expect(() => new Webhook(newSecret()).verify(body, { ...headers })).toThrow();
  });

  it('carries two signatures during a rotation, each verifying with its own secret', () => {
    const now = new Date('2026-11-28T10:00:00Z');
    const sub = subscription({ previousSecret: newSecret(), previousSecretExpiresAt: '2026-11-29T10:00:00Z' });
    const secrets = signingSecrets(sub, now);
    expect(secrets).toEqual([sub.secret, sub.previousSecret]);
    const headers = signatureHeaders('msg_2', body, secrets, at);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(sub.secret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(sub.previousSecret!).verify(body, { ...headers })).not.toThrow();
  });

  it('stops signing with the previous secret once it expired', () => {
    const sub = subscription({ previousSecret: newSecret(), previousSecretExpiresAt: '2026-11-28T09:59:59Z' });
    expect(signingSecrets(sub, new Date('2026-11-28T10:00:00Z'))).toEqual([sub.secret]);
  });
});
