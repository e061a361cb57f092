import { SQS_MAX_VISIBILITY_SECONDS, type RetryPolicy } from './config';

/** What the policy decides after a failed attempt. */
export type RetryDecision =
  | { readonly kind: 'retry'; readonly delaySeconds: number; readonly reason: 'schedule' | 'retry-after' }
  | { readonly kind: 'park' };

/**
 * The delay before the next attempt after attempt `attempt` (1-based) failed.
 * Pure: `rng` returns a number in [0, 1) and is injected so the jitter is testable.
 * - the last allowed attempt parks the job;
 * - otherwise schedule[attempt-1] (the last entry repeats) with ±jitter;
 * - a receiver's Retry-After (429/503) can only lengthen that wait, up to maxRetryAfterSeconds:
 *   an endpoint in maintenance answering `503, Retry-After: 0` must not burn every attempt in
 *   seconds.
 */
export function nextDelay(policy: RetryPolicy, attempt: number, retryAfterSeconds: number | undefined, rng: () => number): RetryDecision {
  if (attempt >= policy.maxAttempts) return { kind: 'park' };
  const index = Math.min(Math.max(attempt, 1), policy.schedule.length) - 1;
  const base = policy.schedule[index] ?? 0;
  const factor = 1 + policy.jitter * (2 * rng() - 1);
  const scheduled = Math.min(Math.max(Math.round(base * factor), 0), SQS_MAX_VISIBILITY_SECONDS);
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)) {
    const asked = Math.min(Math.ceil(retryAfterSeconds), policy.maxRetryAfterSeconds, SQS_MAX_VISIBILITY_SECONDS);
    if (asked > scheduled) return { kind: 'retry', delaySeconds: asked, reason: 'retry-after' };
  }
  return { kind: 'retry', delaySeconds: scheduled, reason: 'schedule' };
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Returns seconds from `now`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | undefined, now: Date): number | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/**
 * How long a job may take from being queued to being delivered or parked (ms): every scheduled
 * delay of `maxAttempts` attempts at its longest (jitter included, so one more delay than there
 * are retries), plus each attempt's request timeout, plus one probe interval of the breaker.
 * A job that comes back later than this after at least one attempt is parked ("deadline passed").
 */
export function deadlineSpanMs(policy: RetryPolicy, requestTimeoutMs: number, probeIntervalMs: number): number {
  let delays = 0;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    delays += policy.schedule[Math.min(attempt, policy.schedule.length) - 1] ?? 0;
  }
  return Math.ceil(delays * (1 + policy.jitter) * 1000) + policy.maxAttempts * requestTimeoutMs + probeIntervalMs;
}
