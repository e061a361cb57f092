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
  /** ISO time of the first failure since the last success. */
  readonly firstFailureAt?: string;
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
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  threshold: 5,
  probeIntervalMs: 60_000,
  waitFraction: 0.1,
  maxWaitMs: 15 * 60_000,
  waitJitter: 0.2,
  slowForMs: 10 * 60_000,
  slowAfterMs: 1_000,
  disableAfterHours: 120,
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
    const { firstFailureAt: _f, openedAt: _o, probeLeaseUntil: _p, ...rest } = health;
    const latencyMs = Math.round(health.latencyMs === undefined ? outcome.durationMs : health.latencyMs + LATENCY_WEIGHT * (outcome.durationMs - health.latencyMs));
    return {
      health: { ...rest, circuit: 'closed', consecutiveFailures: 0, lastSuccessAt: at, latencyMs },
      transition: health.circuit === 'closed' ? undefined : 'closed',
      write: 'success',
    };
  }
  const at = new Date(nowMs).toISOString();
  const before = health ?? { circuit: 'closed', consecutiveFailures: 0 };
  const failed: EndpointHealth = {
    ...before,
    consecutiveFailures: before.consecutiveFailures + 1,
    firstFailureAt: before.firstFailureAt ?? at,
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

/** Call after a failed attempt: true once the endpoint has failed without a success for disableAfterHours. */
export function shouldDisable(health: EndpointHealth | undefined, nowMs: number, policy: BreakerPolicy): boolean {
  if (!health || health.consecutiveFailures === 0 || health.firstFailureAt === undefined) return false;
  const since = Date.parse(health.firstFailureAt);
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
  const since = Date.parse(health.firstFailureAt ?? health.openedAt ?? '');
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
