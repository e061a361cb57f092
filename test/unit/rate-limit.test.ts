import { MAX_REFUSED_SPREAD_SECONDS, maxRequestsPerSecondSchema, rateLimitSchema, rateWindow, refusedWait } from '../../lambdas/core/rate-limit';
import { subscriptionSchema } from '../../lambdas/core/subscriptions';

const T = Date.parse('2026-11-28T10:00:00.000Z');

describe('maxRequestsPerSecond', () => {
  it.each([undefined, 1, 5, 1000])('accepts %p', (value) => {
    expect(maxRequestsPerSecondSchema.parse(value)).toBe(value);
  });

  it.each([0, -1, 1001, 2.5, '5', null, Number.NaN])('refuses %p with a readable reason', (value) => {
    const parsed = rateLimitSchema.safeParse({ maxRequestsPerSecond: value });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toBe('maxRequestsPerSecond must be a whole number from 1 to 1000, or absent for no limit');
  });

  it('is part of the subscription item schema', () => {
    const schema = subscriptionSchema;
    const item = { tenantId: 't', subscriptionId: 's', url: 'https://example.com/h', events: ['*'], secret: `whsec_${Buffer.alloc(24).toString('base64')}`, state: 'active' };
    expect(schema.parse({ ...item, maxRequestsPerSecond: 20 }).maxRequestsPerSecond).toBe(20);
    expect(schema.safeParse({ ...item, maxRequestsPerSecond: 5000 }).success).toBe(false);
  });
});

describe('rate window', () => {
  it.each([
    [T, T / 1000, 1000],
    [T + 1, T / 1000, 999],
    [T + 999, T / 1000, 1],
    [T + 1000, T / 1000 + 1, 1000],
  ])('at %i: second %i, next window in %i ms', (now, second, waitMs) => {
    expect(rateWindow(now)).toEqual({ second, key: String(second), waitMs });
  });
});

describe('a refused job waits', () => {
  it('at least until the next second, never as an immediate retry', () => {
    expect(refusedWait(T + 300, () => 0)).toEqual({ waitMs: 700, delaySeconds: 1 });
    expect(refusedWait(T, () => 0)).toEqual({ waitMs: 1000, delaySeconds: 1 });
  });

  it('spread over a second, so waiting jobs do not all return in the same millisecond', () => {
    const returns = new Set(Array.from({ length: 50 }, (_, i) => T + 300 + refusedWait(T + 300, () => i / 50).waitMs));
    expect(returns.size).toBe(50);
    for (const at of returns) {
      expect(at).toBeGreaterThanOrEqual(T + 1000);
      expect(at).toBeLessThan(T + 2000);
    }
  });

  it.each([
    [0, 1],
    [1, 2],
    [3, 8],
    [5, 32],
    [50, MAX_REFUSED_SPREAD_SECONDS],
  ])('after %i refusals in a row, spread over %i s', (refusals, spread) => {
    expect(refusedWait(T, () => 0.999999, refusals).waitMs).toBe(1000 + Math.floor(0.999999 * spread * 1000));
    expect(refusedWait(T, () => 0, refusals).waitMs).toBe(1000);
  });

  it('gives SQS whole seconds, rounded up', () => {
    expect(refusedWait(T + 300, () => 0.5).delaySeconds).toBe(2); // 700 + 500 ms
    expect(refusedWait(T + 300, () => 0.1).delaySeconds).toBe(1); // 700 + 100 ms
  });
});
