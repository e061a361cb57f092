import { endpointPolicyFromEnv, httpTimeoutsFromEnv, requiredEnv, retryPolicyFromEnv } from '../../lambdas/adapters/env';
import { TtlCache } from '../../lambdas/core/cache';
import { parseSchedule, retryPolicyProblems } from '../../lambdas/core/config';

describe('configuration from the environment', () => {
  it('uses the defaults when nothing is set', () => {
    expect(retryPolicyFromEnv({})).toMatchObject({ maxAttempts: 5, schedule: [60, 600, 3600, 21600] });
    expect(endpointPolicyFromEnv({})).toEqual({ allowPrivate: false, allowHttp: false });
    expect(httpTimeoutsFromEnv({})).toEqual({ timeoutMs: 10000, connectTimeoutMs: 3000 });
  });

  it('reads what the stack sets', () => {
    expect(retryPolicyFromEnv({ MAX_ATTEMPTS: '3', RETRY_SCHEDULE: '1,2' })).toMatchObject({ maxAttempts: 3, schedule: [1, 2] });
    expect(endpointPolicyFromEnv({ ALLOW_PRIVATE_ENDPOINTS: 'true', ALLOW_HTTP_ENDPOINTS: 'false' })).toEqual({ allowPrivate: true, allowHttp: false });
    expect(httpTimeoutsFromEnv({ HTTP_TIMEOUT_MS: '500', HTTP_CONNECT_TIMEOUT_MS: '3000' })).toEqual({ timeoutMs: 500, connectTimeoutMs: 500 });
  });

  it('says plainly what is wrong', () => {
    expect(() => requiredEnv({}, 'SUBSCRIPTIONS_TABLE')).toThrow('environment variable SUBSCRIPTIONS_TABLE is required but not set');
    expect(() => retryPolicyFromEnv({ RETRY_SCHEDULE: '60,,600' })).toThrow('comma-separated whole seconds');
    expect(() => retryPolicyFromEnv({ MAX_ATTEMPTS: '0' })).toThrow('maxAttempts must be an integer from 1 to 100');
    expect(() => endpointPolicyFromEnv({ ALLOW_PRIVATE_ENDPOINTS: 'yes' })).toThrow('must be "true" or "false"');
  });

  it('validates schedules', () => {
    expect(parseSchedule(' 1, 2 ,3')).toEqual([1, 2, 3]);
    expect(retryPolicyProblems({ maxAttempts: 5, schedule: [] })).toEqual(['retrySchedule must list at least one delay']);
    expect(retryPolicyProblems({ maxAttempts: 5, schedule: [50000] })[0]).toContain('0 to 43200');
  });
});

describe('TTL cache', () => {
  it('serves a value until it expires, and shares one load among concurrent callers', async () => {
    let t = 0;
    let loads = 0;
    const cache = new TtlCache<number>(1000, () => t);
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    t = 999;
    expect(await cache.get('k', load)).toBe(1);
    t = 1000;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('does not keep a failed load', async () => {
    const cache = new TtlCache<number>(1000, () => 0);
    await expect(cache.get('k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', async () => 7)).toBe(7);
  });

  it('forgets an entry on delete', async () => {
    const cache = new TtlCache<number>(1000, () => 0);
    await cache.get('k', async () => 1);
    cache.delete('k');
    expect(await cache.get('k', async () => 2)).toBe(2);
  });
});
