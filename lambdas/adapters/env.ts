import { DEFAULTS, ENV, parseSchedule, retryPolicyProblems, type EndpointPolicy, type RetryPolicy } from '../core/config';

type Env = Record<string, string | undefined>;

/** Reads a required variable once, at cold start; a missing one is a deployment error, said plainly. */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is required but not set`);
  return value;
}

function numberEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`environment variable ${name} must be a non-negative number, got "${raw}"`);
  return value;
}

function booleanEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new Error(`environment variable ${name} must be "true" or "false", got "${raw}"`);
}

export function retryPolicyFromEnv(env: Env): RetryPolicy {
  const policy = {
    maxAttempts: numberEnv(env, ENV.maxAttempts, DEFAULTS.maxAttempts),
    schedule: env[ENV.retrySchedule] ? parseSchedule(env[ENV.retrySchedule]!) : [...DEFAULTS.retrySchedule],
    jitter: DEFAULTS.retryJitter,
    maxRetryAfterSeconds: DEFAULTS.maxRetryAfterSeconds,
  };
  const problems = retryPolicyProblems(policy);
  if (problems.length) throw new Error(`invalid retry configuration: ${problems.join('; ')}`);
  return policy;
}

export function endpointPolicyFromEnv(env: Env): EndpointPolicy {
  return {
    allowPrivate: booleanEnv(env, ENV.allowPrivateEndpoints, DEFAULTS.allowPrivateEndpoints),
    allowHttp: booleanEnv(env, ENV.allowHttpEndpoints, DEFAULTS.allowHttpEndpoints),
  };
}

export function httpTimeoutsFromEnv(env: Env): { timeoutMs: number; connectTimeoutMs: number } {
  const timeoutMs = numberEnv(env, ENV.httpTimeoutMs, DEFAULTS.httpTimeoutMs);
  const connectTimeoutMs = Math.min(numberEnv(env, ENV.httpConnectTimeoutMs, DEFAULTS.httpConnectTimeoutMs), timeoutMs);
  return { timeoutMs, connectTimeoutMs };
}

export function cacheTtlFromEnv(env: Env): number {
  return numberEnv(env, ENV.subscriptionCacheTtlMs, DEFAULTS.subscriptionCacheTtlMs);
}

export function userAgentFromEnv(env: Env): string {
  return `statushooks/${env[ENV.userAgentVersion] || '0.0.0'}`;
}
