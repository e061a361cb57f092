import type { DeliveryLogMode } from '../core/delivery-log';
import { DEFAULTS, ENV, type EndpointPolicy, type RetryPolicy } from '../core/config';
import { DEFAULT_BREAKER_POLICY, UNSEEN_SUCCESS_MARGIN_MS, type BreakerPolicy } from '../core/breaker';
import type { Lane } from '../core/delivery';
import { SETTINGS, environmentSource, readSettings, resolveSettings, type Settings } from '../core/settings';

type Env = Record<string, string | undefined>;

/** The Lambda environment holds settings the stack could not deploy (or someone edited it by hand). */
export class InvalidEnvironmentError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration in the environment: ${problems.join('; ')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

/** Reads a required variable once, at cold start; a missing one is a deployment error, said plainly. */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required but not set`);
  return value;
}

/**
 * Every declared setting from the environment (defaults for the unset ones), checked by the same
 * rules the stack applies; throws one error listing every problem.
 */
export function settingsFromEnv(env: Env): Settings {
  const read = readSettings(environmentSource(env));
  const { settings, problems } = resolveSettings(read.settings);
  if (read.problems.length + problems.length > 0) throw new InvalidEnvironmentError([...read.problems, ...problems]);
  return settings;
}

export function retryPolicyFromEnv(env: Env): RetryPolicy {
  const s = settingsFromEnv(env);
  return { maxAttempts: s.maxAttempts, schedule: s.retrySchedule, jitter: DEFAULTS.retryJitter, maxRetryAfterSeconds: DEFAULTS.maxRetryAfterSeconds };
}

export function endpointPolicyFromEnv(env: Env): EndpointPolicy {
  const s = settingsFromEnv(env);
  return { allowPrivate: s.allowPrivateEndpoints, allowHttp: s.allowHttpEndpoints };
}

export function httpTimeoutsFromEnv(env: Env): { timeoutMs: number; connectTimeoutMs: number } {
  const s = settingsFromEnv(env);
  return { timeoutMs: s.httpTimeoutMs, connectTimeoutMs: s.httpConnectTimeoutMs };
}

/** The lane this delivery function drains; its request timeout (the fast lane's is short). */
export function laneFromEnv(env: Env): { lane: Lane; timeoutMs: number; connectTimeoutMs: number } {
  const raw = env[ENV.deliveryLane] ?? 'fast';
  if (raw !== 'fast' && raw !== 'retry') throw new InvalidEnvironmentError([`environment variable ${ENV.deliveryLane} must be "fast" or "retry", got "${raw}"`]);
  const s = settingsFromEnv(env);
  const timeoutMs = raw === 'fast' ? Math.min(s.fastLaneTimeoutMs, s.httpTimeoutMs) : s.httpTimeoutMs;
  return { lane: raw, timeoutMs, connectTimeoutMs: Math.min(s.httpConnectTimeoutMs, timeoutMs) };
}

export function breakerPolicyFromEnv(env: Env): BreakerPolicy {
  const s = settingsFromEnv(env);
  return {
    ...DEFAULT_BREAKER_POLICY,
    threshold: s.breakerThreshold,
    probeIntervalMs: s.breakerProbeIntervalSeconds * 1000,
    disableAfterHours: s.disableAfterHours,
    unseenSuccessMs: s.healthCacheTtlMs + s.httpTimeoutMs + UNSEEN_SUCCESS_MARGIN_MS,
  };
}

export function healthCacheTtlFromEnv(env: Env): number {
  return settingsFromEnv(env).healthCacheTtlMs;
}

export function deliveryLogRetentionDaysFromEnv(env: Env): number {
  return settingsFromEnv(env).deliveryLogRetentionDays;
}

export function deliveryLogModeFromEnv(env: Env): DeliveryLogMode {
  return settingsFromEnv(env).deliveryLog as DeliveryLogMode;
}

/**
 * The stack's `sources` setting, or undefined when the environment does not carry it (a function
 * deployed before fan-out checked sources, or a test's handler): then sources are not checked.
 */
export function sourcesFromEnv(env: Env): readonly string[] | undefined {
  const name = SETTINGS.sources.env!.name;
  return env[name] === undefined ? undefined : settingsFromEnv(env).sources;
}

export function cacheTtlFromEnv(env: Env): number {
  return settingsFromEnv(env).subscriptionCacheTtlMs;
}

export function userAgentFromEnv(env: Env): string {
  return `statushooks/${env[ENV.userAgentVersion] || '0.0.0'}`;
}
