import * as z from 'zod/mini';
import './zod';

/**
 * Per-endpoint rate limit: at most `maxRequestsPerSecond` requests per wall-clock second, counted
 * in DynamoDB (lambdas/adapters/health-store.ts `takeToken`). This file holds the pure parts.
 */

export const MAX_REQUESTS_PER_SECOND_LIMIT = 1000;

const message = `maxRequestsPerSecond must be a whole number from 1 to ${MAX_REQUESTS_PER_SECOND_LIMIT}, or absent for no limit`;

/** The subscription attribute (part of `subscriptionSchema`). */
export const maxRequestsPerSecondSchema = z.optional(z.number({ error: message }).check(z.int({ error: message }), z.minimum(1, message), z.maximum(MAX_REQUESTS_PER_SECOND_LIMIT, message)));
export const rateLimitSchema = z.object({ maxRequestsPerSecond: maxRequestsPerSecondSchema });

/** The counting window `nowMs` falls in. */
export interface RateWindow {
  /** Epoch second. */
  readonly second: number;
  /** Sort key of the counter item. */
  readonly key: string;
  /** ms until the next window starts (1 to 1000). */
  readonly waitMs: number;
}

export function rateWindow(nowMs: number): RateWindow {
  const second = Math.floor(nowMs / 1000);
  return { second, key: String(second), waitMs: (second + 1) * 1000 - nowMs };
}

/** How long refused jobs are spread at most, however often they were refused. */
export const MAX_REFUSED_SPREAD_SECONDS = 32;

export interface RefusedWait {
  /** ms from now: the start of the next window plus a random spread. */
  readonly waitMs: number;
  /** The same, rounded up to whole seconds for SQS (visibility or DelaySeconds); at least 1. */
  readonly delaySeconds: number;
}

/**
 * The wait of a job whose token was refused (not an attempt). Refused jobs are spread at random
 * over the next 2^refusals seconds (capped at MAX_REFUSED_SPREAD_SECONDS) instead of all returning
 * at the next window: a backlog of N jobs behind a limit of M/s then settles at about N/M seconds of
 * spread after a few refusals, and no two instances hammer the counter in the same millisecond.
 * `refusals` is how many times in a row this job was refused before (0 when unknown).
 */
export function refusedWait(nowMs: number, rng: () => number, refusals = 0): RefusedWait {
  const spreadSeconds = Math.min(2 ** Math.max(0, Math.floor(refusals)), MAX_REFUSED_SPREAD_SECONDS);
  const waitMs = rateWindow(nowMs).waitMs + Math.floor(rng() * spreadSeconds * 1000);
  return { waitMs, delaySeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
}
