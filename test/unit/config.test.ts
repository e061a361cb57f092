import { cacheTtlFromEnv, endpointPolicyFromEnv, httpTimeoutsFromEnv, InvalidEnvironmentError, requiredEnv, retryPolicyFromEnv, settingsFromEnv } from '../../lambdas/adapters/env';
import { TtlCache } from '../../lambdas/core/cache';
import { parseSchedule, retryPolicyProblems } from '../../lambdas/core/config';
import { contextSource, readSettings, resolveSettings, SETTING_DEFAULTS, settingsEnvironment, type PartialSettings } from '../../lambdas/core/settings';
import { devOptions } from '../../cli/commands/dev';

describe('configuration from the environment', () => {
  it('uses the defaults when nothing is set', () => {
    expect(retryPolicyFromEnv({})).toMatchObject({ maxAttempts: 5, schedule: [60, 600, 3600, 21600] });
    expect(endpointPolicyFromEnv({})).toEqual({ allowPrivate: false, allowHttp: false });
    expect(httpTimeoutsFromEnv({})).toEqual({ timeoutMs: 10000, connectTimeoutMs: 3000 });
  });

  it('reads what the stack sets', () => {
    expect(retryPolicyFromEnv({ MAX_ATTEMPTS: '3', RETRY_SCHEDULE: '1,2' })).toMatchObject({ maxAttempts: 3, schedule: [1, 2] });
    expect(endpointPolicyFromEnv({ ALLOW_PRIVATE_ENDPOINTS: 'true', ALLOW_HTTP_ENDPOINTS: 'false' })).toEqual({ allowPrivate: true, allowHttp: false });
    expect(httpTimeoutsFromEnv({ HTTP_TIMEOUT_MS: '500', HTTP_CONNECT_TIMEOUT_MS: '300' })).toEqual({ timeoutMs: 500, connectTimeoutMs: 300 });
  });

  it('applies the rules the stack applies, so a hand-edited environment cannot run a configuration the stack refuses', () => {
    // A connect timeout above the total was silently clamped before; the stack never writes one.
    expect(() => httpTimeoutsFromEnv({ HTTP_TIMEOUT_MS: '500', HTTP_CONNECT_TIMEOUT_MS: '3000' })).toThrow(
      'httpConnectTimeoutMs must be an integer from 1 to 500 (at most httpTimeoutMs), got 3000',
    );
    expect(() => retryPolicyFromEnv({ MAX_ATTEMPTS: '10', RETRY_SCHEDULE: '43200' })).toThrow('more than the delivery queue keeps a job');
  });

  it('lists every problem of the environment in one error, each naming its variable', () => {
    let error: Error | undefined;
    try {
      cacheTtlFromEnv({ MAX_ATTEMPTS: 'five', SUBSCRIPTION_CACHE_TTL_MS: '-1', ALLOW_HTTP_ENDPOINTS: 'maybe' });
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    expect((error as InvalidEnvironmentError).problems).toEqual([
      'environment variable MAX_ATTEMPTS must be a number, got "five"',
      'environment variable ALLOW_HTTP_ENDPOINTS must be true or false, got "maybe"',
      'subscriptionCacheTtlMs must be an integer from 0 to 3600000, got -1',
    ]);
  });

  it('says plainly what is wrong', () => {
    expect(() => requiredEnv({}, 'SUBSCRIPTIONS_TABLE')).toThrow('environment variable SUBSCRIPTIONS_TABLE is required but not set');
    expect(() => retryPolicyFromEnv({ RETRY_SCHEDULE: '60,,600' })).toThrow('comma-separated whole seconds');
    expect(() => retryPolicyFromEnv({ MAX_ATTEMPTS: '0' })).toThrow('maxAttempts must be an integer from 1 to 100');
    expect(() => endpointPolicyFromEnv({ ALLOW_PRIVATE_ENDPOINTS: 'yes' })).toThrow('environment variable ALLOW_PRIVATE_ENDPOINTS must be true or false, got "yes"');
  });

  it('validates schedules', () => {
    expect(parseSchedule(' 1, 2 ,3')).toEqual([1, 2, 3]);
    expect(retryPolicyProblems({ maxAttempts: 5, schedule: [] })).toEqual(['retrySchedule must list at least one delay']);
    expect(retryPolicyProblems({ maxAttempts: 5, schedule: [50000] })[0]).toContain('0 to 43200');
  });
});

describe('one declaration per setting: context, environment and dev flags read alike', () => {
  it('hands every function exactly what it reads back: stack environment → handler settings round-trips', () => {
    const stage: PartialSettings = { maxAttempts: 3, retrySchedule: [1, 2, 3], httpTimeoutMs: 4000, httpConnectTimeoutMs: 500, allowPrivateEndpoints: true, subscriptionCacheTtlMs: 0 };
    const { settings, problems } = resolveSettings(stage);
    expect(problems).toEqual([]);
    const delivery = settingsFromEnv(settingsEnvironment(settings, 'delivery'));
    expect(delivery).toMatchObject(stage);
    // Fan-out gets only its own settings: the cache TTL, the delivery log's, the accepted sources; nothing about delivery.
    expect(settingsEnvironment(settings, 'fan-out')).toEqual({ SUBSCRIPTION_CACHE_TTL_MS: '0', DELIVERY_LOG_RETENTION_DAYS: '30', DELIVERY_LOG: 'all', EVENT_SOURCES: 'returns.cloud' });
  });

  it('reads a command-line string the same way from context, environment and dev flag', () => {
    const fromContext = readSettings(contextSource((key) => ({ maxAttempts: '4', retrySchedule: '5,6' })[key])).settings;
    const fromEnv = settingsFromEnv({ MAX_ATTEMPTS: '4', RETRY_SCHEDULE: '5,6' });
    const fromFlags = devOptions({ maxAttempts: '4', retrySchedule: '5,6', demo: true });
    expect(fromContext).toEqual({ maxAttempts: 4, retrySchedule: [5, 6] });
    expect(fromEnv).toMatchObject(fromContext);
    expect(fromFlags).toEqual({ ...fromContext, demo: true });
  });

  it('refuses bad dev flags with the rules the stack applies (one usage error, every problem)', () => {
    expect(() => devOptions({ maxAttempts: 'x', retrySchedule: '1,,2', demo: true })).toThrow(
      '--max-attempts: expected a whole number ≥ 1, got "x"; --retry-schedule: retry schedule must be comma-separated whole seconds, e.g. "60,600,3600", got "1,,2"',
    );
    // The retention check used to surface only when the local runtime synthesized the stack.
    expect(() => devOptions({ maxAttempts: '30', retrySchedule: '43200', demo: true })).toThrow('more than the delivery queue keeps a job (345600 s)');
    expect(devOptions({ demo: false })).toEqual({ retrySchedule: undefined, maxAttempts: undefined, demo: false });
    // The other dev flags reach the local runtime as the context the stack reads.
    expect(devOptions({ deliveryLog: 'failures', demo: true })).toEqual({ retrySchedule: undefined, maxAttempts: undefined, context: { deliveryLog: 'failures' }, demo: true });
    expect(() => devOptions({ deliveryLog: 'some', demo: true })).toThrow('--delivery-log must be all or failures, got "some"');
  });

  it('keeps the documented defaults', () => {
    expect(SETTING_DEFAULTS).toMatchObject({ maxAttempts: 5, retrySchedule: [60, 600, 3600, 21600], httpTimeoutMs: 10000, subscriptionCacheTtlMs: 5000, allowPrivateEndpoints: false, nag: true });
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
