/**
 * The circuit breaker of one endpoint (one subscription): plain data plus pure functions.
 * Time is epoch milliseconds passed in (`nowMs`), randomness is an injected `rng` returning [0, 1).
 * The stored item and how concurrent instances update it: lambdas/adapters/health-store.ts.
 */

export type Circuit = 'closed' | 'open' | 'half-open';

/** The health of one endpoint as stored (without its keys); absent means "never failed". */
export interface EndpointHealth {
  readonly circuit: Circuit;
  readonly consecutiveFailures: number;
  /** ISO time of the first failure since the last success (that was written). */
  readonly firstFailureAt?: string;
  /**
   * ISO time from which the endpoint counts as failing without a success (failingSinceAt): the
   * disable clock, the wait growth and the operational events' `since`. Absent for a streak younger
   * than `unseenSuccessMs`.
   */
  readonly failingSince?: string;
  readonly lastSuccessAt?: string;
  readonly lastFailureAt?: string;
  /** Redacted by the caller; cut to LAST_ERROR_MAX_CHARS here. */
  readonly lastError?: string;
  /** ISO time the circuit opened, or of the last failure while it was open (restarts the probe interval). */
  readonly openedAt?: string;
  /** Epoch ms until which one instance holds the right to probe. */
  readonly probeLeaseUntil?: number;
  /** Epoch ms until which the endpoint counts as slow (kept out of the fast lane). */
  readonly slowUntil?: number;
  /** EWMA of the durations of the successes that were written (recoveries): a coarse indicator only. */
  readonly latencyMs?: number;
  /**
   * ISO time just before the delivery functions disabled the subscription (410, sustained failure).
   * Seen on an active subscription that was changed at or after it, it means the subscription was
   * resumed since (by any writer): this health is history and is reset (resumedSince).
   */
  readonly disabledAt?: string;
}

export interface BreakerPolicy {
  /** Consecutive failed attempts that open the circuit. */
  readonly threshold: number;
  /** Time between probes of an open circuit; also the probe lease (covers one request). */
  readonly probeIntervalMs: number;
  /** A waiting job waits this fraction of how long the endpoint has been failing ... */
  readonly waitFraction: number;
  /** ... but never longer than this. */
  readonly maxWaitMs: number;
  /** Waits are shortened by up to this fraction at random, so a backlog does not return at once. */
  readonly waitJitter: number;
  /** How long a fast-lane timeout (or an answer slower than slowAfterMs) keeps the endpoint out of the fast lane. */
  readonly slowForMs: number;
  /**
   * A fast-lane request still unanswered after this long marks its endpoint slow at once (while it
   * goes on, up to the fast lane's timeout), so the endpoint's next jobs take the retry lane
   * instead of holding fast-lane slots. Healthy endpoints answer far sooner and never pay for it.
   */
  readonly slowAfterMs: number;
  /** Failing without a single success for this long disables the subscription (fractions allowed). */
  readonly disableAfterHours: number;
  /**
   * How long after a failure is written another instance may still make a success it does not
   * write: that instance decided from its cached copy, read before the failure (healthCacheTtlMs),
   * and its request was still under way (httpTimeoutMs), plus a margin for its DynamoDB calls and
   * clock skew. No success can go unwritten after this: see failingSinceAt.
   */
  readonly unseenSuccessMs: number;
}

/** What unseenSuccessMs adds to the health cache's TTL and the request timeout. */
export const UNSEEN_SUCCESS_MARGIN_MS = 5_000;

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  threshold: 5,
  probeIntervalMs: 60_000,
  waitFraction: 0.1,
  maxWaitMs: 15 * 60_000,
  waitJitter: 0.2,
  slowForMs: 10 * 60_000,
  slowAfterMs: 1_000,
  disableAfterHours: 120,
  unseenSuccessMs: 1_000 + 10_000 + UNSEEN_SUCCESS_MARGIN_MS,
};

export const LAST_ERROR_MAX_CHARS = 300;

/** What one attempt told us about the endpoint. */
export type AttemptOutcome = { readonly ok: true; readonly durationMs: number } | { readonly ok: false; readonly error: string; readonly timedOut?: boolean };

/** Whether a job may be sent now: freely, as the probe (after winning the lease), or not before `untilMs`. */
export type Admission = { readonly kind: 'send' } | { readonly kind: 'probe' } | { readonly kind: 'wait'; readonly untilMs: number };

export type Transition = 'opened' | 'closed';

export interface RecordResult {
  readonly health: EndpointHealth;
  /** Set once per change of the circuit, for the operational events. */
  readonly transition?: Transition;
  /** What must be persisted; 'none' for a success of an endpoint that was already healthy. */
  readonly write: 'none' | 'success' | 'failure';
}

const LATENCY_WEIGHT = 0.3;

export function admit(health: EndpointHealth | undefined, nowMs: number, policy: BreakerPolicy, rng: () => number): Admission {
  if (!health || health.circuit === 'closed') return { kind: 'send' };
  if (nowMs >= nextProbeAt(health, policy)) return { kind: 'probe' };
  return { kind: 'wait', untilMs: nowMs + waitForOpenCircuit(health, nowMs, policy, rng) };
}

/**
 * The circuit after one attempt. Any failure while the circuit is not closed (a failed probe, a
 * last-chance attempt) keeps it open and restarts the probe interval; the probe lease is kept, so a
 * failed probe does not let another instance probe again before the lease ends.
 */
export function record(health: EndpointHealth | undefined, outcome: AttemptOutcome, nowMs: number, policy: BreakerPolicy): RecordResult {
  if (outcome.ok) {
    if (!health) return { health: { circuit: 'closed', consecutiveFailures: 0 }, write: 'none' };
    if (health.circuit === 'closed' && health.consecutiveFailures === 0) return { health, write: 'none' };
    const at = new Date(nowMs).toISOString();
    const { firstFailureAt: _f, failingSince: _s, openedAt: _o, probeLeaseUntil: _p, ...rest } = health;
    const latencyMs = Math.round(health.latencyMs === undefined ? outcome.durationMs : health.latencyMs + LATENCY_WEIGHT * (outcome.durationMs - health.latencyMs));
    return {
      health: { ...rest, circuit: 'closed', consecutiveFailures: 0, lastSuccessAt: at, latencyMs },
      transition: health.circuit === 'closed' ? undefined : 'closed',
      write: 'success',
    };
  }
  const at = new Date(nowMs).toISOString();
  const before = health ?? { circuit: 'closed', consecutiveFailures: 0 };
  const failingSince = before.firstFailureAt === undefined ? undefined : failingSinceAt(before, before.lastFailureAt, nowMs, policy);
  const failed: EndpointHealth = {
    ...before,
    consecutiveFailures: before.consecutiveFailures + 1,
    firstFailureAt: before.firstFailureAt ?? at,
    ...(failingSince !== undefined ? { failingSince } : {}),
    lastFailureAt: at,
    lastError: outcome.error.slice(0, LAST_ERROR_MAX_CHARS),
  };
  if (before.circuit !== 'closed') return { health: { ...failed, circuit: 'open', openedAt: at }, write: 'failure' };
  if (failed.consecutiveFailures >= policy.threshold) return { health: { ...failed, circuit: 'open', openedAt: at }, transition: 'opened', write: 'failure' };
  return { health: failed, write: 'failure' };
}

/** Fit for the fast lane: closed, no failure since the last success, not marked slow. */
export function isHealthy(health: EndpointHealth | undefined, nowMs: number): boolean {
  if (!health) return true;
  return health.circuit === 'closed' && health.consecutiveFailures === 0 && !((health.slowUntil ?? 0) > nowMs);
}

/** After a fast-lane timeout: slow is not dead, it only keeps the endpoint in the retry lane for a while. */
export function markSlow(health: EndpointHealth | undefined, nowMs: number, policy: BreakerPolicy): EndpointHealth {
  return { ...(health ?? { circuit: 'closed', consecutiveFailures: 0 }), slowUntil: nowMs + policy.slowForMs };
}

/**
 * Whether a health item marked by a disabling (`disabledAt`) describes an earlier life of this
 * active subscription: the item was written (by the disabling itself, or since) at or after the
 * mark, so it was resumed after it, through the CLI or by a direct write of the item. A cached copy
 * of the item from before the disabling is older than the mark and says nothing.
 */
export function resumedSince(subscription: { readonly state: string; readonly updatedAt?: string }, health: EndpointHealth | undefined): boolean {
  if (health?.disabledAt === undefined || subscription.state !== 'active') return false;
  const updated = Date.parse(subscription.updatedAt ?? '');
  // An item without a readable updatedAt (a backend that does not keep it) cannot be older than the mark.
  return !Number.isFinite(updated) || updated >= Date.parse(health.disabledAt);
}

/**
 * When a streak that failed again at `atMs` has been failing without a success, for certain.
 * A success is written only by an instance whose copy of the health shows failures; one whose copy
 * was read before the streak's first failure writes nothing for its success (a steady healthy
 * endpoint costs no write), so a success may follow the first failure unseen, but never by more
 * than `unseenSuccessMs`. The first failure after that is the one from which there surely was no
 * success: `failingSince`. Undefined while the streak is younger (nothing can be due yet).
 * `previousFailureAt` is the streak's failure before this one: a streak that already failed past
 * the window without a mark was written before `failingSince` existed and keeps its first failure.
 */
export function failingSinceAt(streak: Pick<EndpointHealth, 'firstFailureAt' | 'failingSince'>, previousFailureAt: string | undefined, atMs: number, policy: BreakerPolicy): string | undefined {
  if (streak.failingSince !== undefined) return streak.failingSince;
  const first = Date.parse(streak.firstFailureAt ?? '');
  if (!Number.isFinite(first) || atMs <= first + policy.unseenSuccessMs) return undefined;
  const previous = Date.parse(previousFailureAt ?? '');
  if (Number.isFinite(previous) && previous > first + policy.unseenSuccessMs) return streak.firstFailureAt;
  return new Date(atMs).toISOString();
}

/** Since when the endpoint has been failing, as operators are told: failingSince, or the streak's first failure while it is young. */
export function failingSinceOf(health: EndpointHealth | undefined): string | undefined {
  return health?.failingSince ?? health?.firstFailureAt;
}

/** Call after a failed attempt: true once the endpoint has failed without a success for disableAfterHours since failingSince. */
export function shouldDisable(health: EndpointHealth | undefined, nowMs: number, policy: BreakerPolicy): boolean {
  if (!health || health.consecutiveFailures === 0 || health.failingSince === undefined) return false;
  const since = Date.parse(health.failingSince);
  return Number.isFinite(since) && nowMs - since >= policy.disableAfterHours * 3_600_000;
}

/**
 * How long (ms) a job behind an open circuit waits: a fraction of how long the endpoint has been
 * failing, from probeIntervalMs up to maxWaitMs, never ending before the next probe is due. A young
 * outage lets the backlog resume within a minute or two of recovery; an old one costs a waiting job
 * one receive per maxWaitMs or a little less (about 560 receives over the default 120 hours before
 * the subscription is disabled; the retry lane's redrive allows 1000).
 */
export function waitForOpenCircuit(health: EndpointHealth, nowMs: number, policy: BreakerPolicy, rng: () => number): number {
  const since = Date.parse(failingSinceOf(health) ?? health.openedAt ?? '');
  const failingForMs = Number.isFinite(since) ? Math.max(0, nowMs - since) : 0;
  const grown = Math.min(policy.maxWaitMs, Math.max(policy.probeIntervalMs, failingForMs * policy.waitFraction));
  const jittered = Math.round(grown * (1 - policy.waitJitter * rng()));
  return Math.max(nextProbeAt(health, policy) - nowMs, jittered, 0);
}

/** Epoch ms of the next probe: one interval after the circuit (re)opened, and not while another instance holds the lease. */
export function nextProbeAt(health: EndpointHealth, policy: BreakerPolicy): number {
  const opened = Date.parse(health.openedAt ?? '');
  const fromOpen = Number.isFinite(opened) ? opened + policy.probeIntervalMs : 0;
  return Math.max(fromOpen, health.probeLeaseUntil ?? 0);
}
