import { admit, failingSinceOf, isHealthy, markSlow, record, resumedSince, shouldDisable, waitForOpenCircuit, type BreakerPolicy, type EndpointHealth, type RecordResult, type Transition } from './breaker';
import type { EndpointPolicy, RetryPolicy } from './config';
import { attemptRecord, factsFromJob, logsOutcome, noDeliveryLog, writeLog, type DeliveryLogMode, type DeliveryLogPort, type DeliveryState } from './delivery-log';
import { checkUrl, redactUrl } from './endpoint-guard';
import { EndpointBlockedError, errorMessage, RetryableError } from './errors';
import { parseJob, type DeliveryJob } from './job';
import { OPERATIONAL_DETAIL_TYPES, type OperationalDetailType, type OperationalPort } from './operational';
import { classify, type AttemptResult, type Outcome } from './outcome';
import { METRIC, type Log, type MetricName, type Metrics } from './ports';
import { rateWindow, refusedWait } from './rate-limit';
import { nextDelay } from './retry';
import { signatureHeaders } from './signing';
import { LIMITS } from './settings';
import { signingSecrets, type Subscription } from './subscriptions';

/** One webhook request as the sender performs it. */
export interface WebhookRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The subscription a job belongs to: read before the attempt, disabled after a 410 or sustained failure. */
export interface SubscriptionPort {
  getSubscription(tenantId: string, subscriptionId: string): Promise<Subscription | undefined>;
  /**
   * Disables the subscription only while it is still active at `url` (the URL that failed), so one
   * disabling is made, counted and announced once however many jobs failed at once, and a
   * subscription moved to another URL meanwhile stays active.
   */
  disableSubscription(tenantId: string, subscriptionId: string, reason: string, url: string): Promise<DisableResult>;
}

/** What disableSubscription did: disabled it; found it no longer active (disabled, paused, deleted); found it at another URL. */
export type DisableResult = 'disabled' | 'not-active' | 'moved';

/** Performs one HTTP attempt; never throws for what the endpoint does (that is the result). */
export interface SenderPort {
  send(request: WebhookRequest): Promise<AttemptResult>;
}

/** The endpoint's health (breaker), shared by every instance through DynamoDB. */
export interface HealthPort {
  /** The endpoint's health, possibly cached for a moment; undefined when it never failed. */
  endpointHealth(tenantId: string, subscriptionId: string): Promise<EndpointHealth | undefined>;
  /** Persists breaker.record()'s result; the stored health and the transition this caller alone made. */
  saveHealth(tenantId: string, subscriptionId: string, result: RecordResult, nowMs: number): Promise<{ health: EndpointHealth; transition?: Transition }>;
  /** The one probe of an open circuit: true for exactly one caller per lease. */
  acquireProbe(tenantId: string, subscriptionId: string, nowMs: number, leaseMs: number): Promise<boolean>;
  /** Keeps the endpoint out of the fast lane until `untilMs` (not a failure). */
  markSlow(tenantId: string, subscriptionId: string, untilMs: number): Promise<void>;
  /** One request token of the subscription's rate limit for the current second. */
  takeToken(tenantId: string, subscriptionId: string, max: number, nowMs: number): Promise<boolean>;
  /** Marks the health of a subscription the delivery functions just disabled (`disabledAt`, ISO); nothing when it has none. */
  markDisabled(tenantId: string, subscriptionId: string, at: string): Promise<void>;
  /** Forgets the endpoint's health if it still carries this `disabledAt` mark (the subscription was resumed since). */
  resetHealth(tenantId: string, subscriptionId: string, disabledAt: string): Promise<void>;
}

/** What can be done with the SQS message of the job. */
export interface JobPort {
  /** Hides this message for `delaySeconds` (its visibility): it comes back unchanged. */
  retryLater(delaySeconds: number): Promise<void>;
  /** Queues `job` (a new message) on the retry lane after `delaySeconds` (≤ 900; longer waits are `notBefore`). */
  toRetryLane(job: DeliveryJob, delaySeconds: number): Promise<void>;
  /** Parks the job's original message body in the delivery DLQ with the reason. */
  park(body: string, reason: string, attempts: number): Promise<void>;
}

export interface ClockPort {
  now(): Date;
  rng(): number;
}

export interface ObservabilityPort {
  readonly log: Log;
  readonly metrics: Metrics;
}

/** The delivery log (core/delivery-log.ts): written after each attempt, parking or drop; never a gate. */
export interface DeliveryLogPorts {
  readonly deliveryLog?: DeliveryLogPort;
}

/** Everything `deliver` needs; each step below takes only the parts it uses. */
export type DeliveryPorts = SubscriptionPort & SenderPort & HealthPort & JobPort & OperationalPort & ClockPort & ObservabilityPort & DeliveryLogPorts;

/**
 * The two lanes (docs/architecture.md §7): the fast lane takes first attempts to healthy
 * endpoints with a short request timeout; everything else (retries, slow or failing endpoints,
 * waits) runs in the retry lane, with its own concurrency, so it never delays a fast delivery.
 */
export type Lane = 'fast' | 'retry';

export interface DeliveryConfig {
  readonly lane: Lane;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerPolicy;
  readonly endpoints: EndpointPolicy;
  readonly userAgent: string;
  /** From queuedAt to the point where a job that was tried is parked (retry.ts deadlineSpanMs). */
  readonly deadlineSpanMs: number;
  /** What the delivery log records (setting `deliveryLog`); default `all`. */
  readonly deliveryLog?: DeliveryLogMode;
}

/** SQS's longest DelaySeconds: a longer wait on the retry lane is the job's `notBefore`. */
const MAX_DELAY_SECONDS = 900;
/** SQS's longest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** A job received this little before its notBefore is tried (SQS's delays are whole seconds). */
const EARLY_SLACK_MS = 1000;
/**
 * A job on the retry lane received this often waits on as a new message (receive count 0) rather
 * than by visibility: the lane's redrive (LIMITS.retryLaneMaxReceiveCount) would otherwise move a
 * job that only waited (open circuit, rate limit, faults) to the DLQ without a reason. The margin
 * covers SQS's approximate count.
 */
const RENEW_AFTER_RECEIVES = LIMITS.retryLaneMaxReceiveCount - 100;

/**
 * How a job ended in this invocation, when its record may be deleted. A job that must come
 * back as the same message is not a report: `deliver` throws RetryableError after setting its
 * visibility.
 */
export type DeliveryReport =
  | { readonly result: 'delivered'; readonly status: number }
  | { readonly result: 'dropped'; readonly reason: string }
  | { readonly result: 'parked'; readonly reason: string }
  /** A new message on the retry lane carries the job on (after a failed attempt, or a wait). */
  | { readonly result: 'rescheduled'; readonly delaySeconds: number; readonly reason: string };

/**
 * What the attempt step yields: the endpoint's outcome, or a decision taken before any request.
 * `fault` is a failure of our own dependencies (DynamoDB, SQS): nothing was sent. `wait` and
 * `leave-fast-lane` are not attempts.
 */
export type StepOutcome =
  | {
      readonly kind: 'attempted';
      readonly outcome: Outcome;
      readonly slow: boolean;
      readonly health?: EndpointHealth;
      readonly subscription: Subscription;
      /** What the endpoint did, and when the request was sent (for the delivery log). */
      readonly result: AttemptResult;
      readonly sentAt: Date;
    }
  | { readonly kind: 'dropped'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'fault'; readonly reason: string }
  | { readonly kind: 'wait'; readonly untilMs: number; readonly reason: string }
  | { readonly kind: 'leave-fast-lane'; readonly reason: string }
  | { readonly kind: 'expired'; readonly reason: string };

type Fields = Record<string, unknown>;

interface Settling {
  readonly job: DeliveryJob | undefined;
  /** When this invocation took the job up (ISO): orders a drop or parking among the record's states. */
  readonly startedAt: string;
  readonly messageBody: string;
  /** Real HTTP attempts made before this invocation. */
  readonly attempts: number;
  /** SQS's ApproximateReceiveCount of this message. */
  readonly receiveCount: number;
  readonly fields: Fields;
}

/**
 * Delivers one job (one SQS record): the attempt step yields an outcome, the settle step acts on
 * it. Resolves when the record may be deleted (delivered, dropped, parked, or carried on by a new
 * message); throws RetryableError when it must come back, after its visibility was set. Nothing
 * is acknowledged without being delivered, parked, rescheduled or dropped on purpose.
 *
 * `receiveCount` is SQS's ApproximateReceiveCount: the attempt number of a job from before jobs
 * carried `attempts`.
 */
export async function deliver(messageBody: string, receiveCount: number, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  let job: DeliveryJob | undefined;
  let outcome: StepOutcome | undefined;
  try {
    job = parseJob(messageBody);
  } catch (error) {
    outcome = { kind: 'malformed', reason: `malformed job: ${(error as Error).message}` };
  }
  const attempts = job?.attempts ?? Math.max(0, receiveCount - 1);
  const fields: Fields = job
    ? { eventId: job.eventId, deliveryId: job.deliveryId, event: job.event, tenantId: job.tenantId, subscriptionId: job.subscriptionId, attempt: attempts + 1, lane: config.lane }
    : { attempt: attempts + 1, lane: config.lane };
  const s: Settling = { job, messageBody, attempts, receiveCount, fields, startedAt: ports.now().toISOString() };
  outcome ??= await attemptJob(job!, s, ports, config);
  let report: DeliveryReport | undefined;
  try {
    report = await settleOrFault(outcome, s, ports, config);
    return report;
  } finally {
    // After the job's own fate is settled: the log never delays or changes it.
    await logOutcome(outcome, report, s, ports, config);
  }
}

async function settleOrFault(outcome: StepOutcome, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  try {
    return await settle(outcome, s, ports, config);
  } catch (error) {
    if (error instanceof RetryableError) throw error;
    // Disabling, parking or rescheduling failed: the one fault path.
    return fault(`${errorMessage(error)} (while settling: ${outcome.kind})`, s, ports, config);
  }
}

/**
 * Writes what happened to the delivery log: an attempt (with the state it left the job in), a
 * drop, or a parking. Waits and moves between lanes are not attempts and are not written (the
 * record keeps its state); a fault after an attempt still records the attempt, as `retrying`.
 */
async function logOutcome(outcome: StepOutcome, report: DeliveryReport | undefined, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<void> {
  if (!s.job) return;
  let state: DeliveryState;
  let reason: string | undefined;
  switch (outcome.kind) {
    case 'attempted':
      state = report?.result === 'delivered' ? 'delivered' : report?.result === 'parked' ? 'parked' : 'retrying';
      reason = report?.result === 'parked' ? report.reason : outcome.outcome.kind === 'delivered' ? undefined : outcome.outcome.reason;
      break;
    case 'dropped':
      state = 'dropped';
      reason = outcome.reason;
      break;
    case 'expired':
      if (report?.result !== 'parked') return;
      state = 'parked';
      reason = outcome.reason;
      break;
    case 'fault':
      // Parked after its deadline (fault): recorded like any parking.
      if (report?.result !== 'parked') return;
      state = 'parked';
      reason = report.reason;
      break;
    default:
      return;
  }
  const job = s.job;
  if (!logsOutcome(config.deliveryLog ?? 'all', state, job, s.attempts)) return;
  const at = ports.now().toISOString();
  await writeLog(
    state,
    () =>
      (ports.deliveryLog ?? noDeliveryLog).logUpdate({
        facts: factsFromJob(job),
        state,
        at,
        // The attempt's own time orders the states; the next attempt always starts later.
        stateAt: outcome.kind === 'attempted' ? outcome.sentAt.toISOString() : s.startedAt,
        reason,
        attempt: outcome.kind === 'attempted' ? attemptRecord(s.attempts + 1, outcome.sentAt, outcome.result, config.lane) : undefined,
        url: outcome.kind === 'attempted' ? redactUrl(outcome.subscription.url) : undefined,
      }),
    ports,
    s.fields,
  );
}

/**
 * The attempt step: the job's own wait, the subscription, the deadline, the lane, the breaker and
 * the rate limit decide whether to send; then sign and send once and record what the endpoint did.
 */
async function attemptJob(job: DeliveryJob, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<StepOutcome> {
  const nowMs = ports.now().getTime();
  if (job.notBefore !== undefined && job.notBefore > nowMs + EARLY_SLACK_MS) return { kind: 'wait', untilMs: job.notBefore, reason: 'scheduled retry' };
  let subscription: Subscription | undefined;
  try {
    subscription = await ports.getSubscription(job.tenantId, job.subscriptionId);
  } catch (error) {
    return { kind: 'fault', reason: errorMessage(error) };
  }
  if (!subscription || subscription.state !== 'active') {
    return { kind: 'dropped', reason: subscription ? `subscription is ${subscription.state}` : 'subscription no longer exists' };
  }
  let health: EndpointHealth | undefined;
  try {
    health = await ports.endpointHealth(job.tenantId, job.subscriptionId);
  } catch (error) {
    // Health is advisory: without it the job is sent as to a healthy endpoint.
    ports.log.warn('endpoint health could not be read; sending as if healthy', { ...s.fields, reason: errorMessage(error) });
  }
  if (resumedSince(subscription, health)) {
    // Disabled by a delivery function, active again since (the CLI, the console or a direct write
    // of the item): resuming resets the endpoint's health, whoever resumed it (docs §7).
    try {
      await ports.resetHealth(job.tenantId, job.subscriptionId, health!.disabledAt!);
      ports.log.info('endpoint health reset: the subscription was resumed after it was disabled', { ...s.fields, disabledAt: health!.disabledAt });
    } catch (error) {
      ports.log.warn('endpoint health of a resumed subscription could not be reset; sending as if healthy', { ...s.fields, reason: errorMessage(error) });
    }
    health = undefined;
  }
  const expired = s.attempts >= 1 ? pastDeadline(job, s.attempts, nowMs, config) : undefined;
  if (expired !== undefined) {
    const last = health?.lastError ? `; last error: ${health.lastError}` : '';
    return { kind: 'expired', reason: `${expired}${last}` };
  }
  if (config.lane === 'fast' && !isHealthy(health, nowMs)) return { kind: 'leave-fast-lane', reason: unhealthyReason(health!, nowMs) };

  const admission = admit(health, nowMs, config.breaker, ports.rng);
  if (admission.kind === 'wait') return { kind: 'wait', untilMs: admission.untilMs, reason: `circuit open since ${health?.openedAt ?? '?'}` };
  const probe = admission.kind === 'probe';
  if (probe) {
    let won: boolean;
    try {
      won = await ports.acquireProbe(job.tenantId, job.subscriptionId, nowMs, config.breaker.probeIntervalMs);
    } catch (error) {
      return { kind: 'fault', reason: errorMessage(error) };
    }
    // Another instance probes (or the circuit just closed, which the next look at the health shows).
    if (!won) return { kind: 'wait', untilMs: nowMs + waitForOpenCircuit(health!, nowMs, config.breaker, ports.rng), reason: 'another delivery probes the endpoint' };
  }
  const limit = subscription.maxRequestsPerSecond;
  let rateSecond: number | undefined;
  if (limit !== undefined) {
    let granted: boolean;
    try {
      granted = await ports.takeToken(job.tenantId, job.subscriptionId, limit, nowMs);
    } catch (error) {
      return { kind: 'fault', reason: errorMessage(error) };
    }
    if (!granted) {
      ports.metrics.count(METRIC.deliveriesRateLimited);
      // On the retry lane a job waits by visibility, so each earlier receive of its message was a wait
      // (a refusal, mostly): the spread grows with them. The fast lane hands it on untried (0).
      const refusals = config.lane === 'retry' ? s.receiveCount - 1 : 0;
      return { kind: 'wait', untilMs: nowMs + refusedWait(nowMs, ports.rng, refusals).waitMs, reason: `rate limit of ${limit} requests per second` };
    }
    rateSecond = rateWindow(nowMs).second;
  }

  const sentAt = ports.now();
  const { result, markedSlow } = await sendWatched(job, subscription, s, ports, config);
  const outcome = classify(result, ports.now());
  const slow = config.lane === 'fast' && result.kind === 'error' && result.error === 'timeout';
  if (result.kind !== 'error' || result.error !== 'blocked') ports.metrics.milliseconds(METRIC.endpointResponseTime, result.durationMs);
  // A success is counted (metrics) and recorded (delivery log): its line is DEBUG. Failures stay INFO.
  const attemptFields = () => ({
    ...s.fields,
    url: redactUrl(subscription.url),
    outcome: outcome.kind,
    statusCode: result.kind === 'response' ? result.status : undefined,
    error: result.kind === 'error' ? result.message : undefined,
    durationMs: result.durationMs,
    probe: probe || undefined,
    // The second whose rate-limit token this request used.
    rateSecond,
  });
  if (outcome.kind === 'delivered') ports.log.debug('delivery attempt', attemptFields);
  else ports.log.info('delivery attempt', attemptFields());
  // Marked slow while this request waited: what is recorded next (and cached) must keep the mark,
  // even when the answer then came in time.
  const before = markedSlow ? markSlow(health, ports.now().getTime(), config.breaker) : health;
  const after = await recordHealth(job, subscription, before, result, outcome, slow, markedSlow, s, ports, config);
  return { kind: 'attempted', outcome, slow, health: after, subscription, result, sentAt };
}

/**
 * Feeds the attempt to the breaker and persists it (only changes are written). A policy refusal
 * (blocked endpoint) and a 410 say nothing about the endpoint's health. Never throws: health is
 * advisory, a failure to write it is logged and the delivery goes on.
 */
async function recordHealth(
  job: DeliveryJob,
  subscription: Subscription,
  before: EndpointHealth | undefined,
  result: AttemptResult,
  outcome: Outcome,
  slow: boolean,
  alreadyMarkedSlow: boolean,
  s: Settling,
  ports: DeliveryPorts,
  config: DeliveryConfig,
): Promise<EndpointHealth | undefined> {
  if (outcome.kind === 'gone' || outcome.kind === 'permanent') return before;
  const nowMs = ports.now().getTime();
  if (slow) {
    // Slow is not dead: no answer within the fast lane's short timeout keeps the endpoint out of
    // the fast lane, but does not count towards its breaker (the retry lane's full timeout does).
    const marked = markSlow(before, nowMs, config.breaker);
    if (alreadyMarkedSlow) return marked;
    try {
      await ports.markSlow(job.tenantId, job.subscriptionId, marked.slowUntil!);
    } catch (error) {
      ports.log.warn('endpoint could not be marked slow', { ...s.fields, reason: errorMessage(error) });
    }
    return marked;
  }
  const attempt = outcome.kind === 'delivered' ? { ok: true as const, durationMs: result.durationMs } : { ok: false as const, error: outcome.reason };
  const next = record(before, attempt, nowMs, config.breaker);
  try {
    const saved = await ports.saveHealth(job.tenantId, job.subscriptionId, next, nowMs);
    if (saved.transition === 'opened') {
      ports.metrics.count(METRIC.circuitsOpened);
      ports.log.warn('circuit opened: jobs of this endpoint wait, one probe per interval', { ...s.fields, consecutiveFailures: saved.health.consecutiveFailures });
      await announce(OPERATIONAL_DETAIL_TYPES.failing, job, subscription, `${plural(saved.health.consecutiveFailures, 'consecutive failed attempt')}; last: ${outcome.kind === 'delivered' ? '' : outcome.reason}`, failingSinceOf(saved.health) ?? new Date(nowMs).toISOString(), ports);
    } else if (saved.transition === 'closed') {
      ports.log.info('circuit closed: the endpoint answered again', { ...s.fields });
      const failures = before?.consecutiveFailures ?? 0;
      await announce(OPERATIONAL_DETAIL_TYPES.recovered, job, subscription, `delivered again after ${plural(failures, 'consecutive failed attempt')}`, failingSinceOf(before) ?? before?.openedAt ?? new Date(nowMs).toISOString(), ports);
    }
    return saved.health;
  } catch (error) {
    ports.log.warn('endpoint health could not be recorded', { ...s.fields, reason: errorMessage(error) });
    return next.health;
  }
}

/** Publishes an operational event; a failure is logged, never thrown (the delivery goes on). */
async function announce(detailType: OperationalDetailType, job: DeliveryJob, subscription: Subscription, reason: string, since: string, ports: OperationalPort & ClockPort & ObservabilityPort): Promise<void> {
  try {
    await ports.publishOperational({
      detailType,
      time: ports.now().toISOString(),
      detail: { tenantId: job.tenantId, subscriptionId: job.subscriptionId, url: redactUrl(subscription.url), reason, since },
    });
  } catch (error) {
    ports.metrics.count(METRIC.operationalEventFailures);
    ports.log.error('operational event could not be published', { detailType, tenantId: job.tenantId, subscriptionId: job.subscriptionId, reason: errorMessage(error) });
  }
}

/**
 * Sends; in the fast lane, a request still unanswered after the breaker's slowAfterMs marks the
 * endpoint slow right away (it continues, up to the fast lane's timeout), so the endpoint's next
 * jobs go to the retry lane instead of taking fast-lane slots while this one waits.
 */
async function sendWatched(job: DeliveryJob, subscription: Subscription, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<{ result: AttemptResult; markedSlow: boolean }> {
  const sending = sendSigned(job, subscription, ports, config);
  if (config.lane !== 'fast') return { result: await sending, markedSlow: false };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let marking: Promise<void> | undefined;
  let markedSlow = false;
  const slowMark = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, config.breaker.slowAfterMs);
  }).then(() => {
    ports.log.info('endpoint slow: its next jobs take the retry lane', { ...s.fields, afterMs: config.breaker.slowAfterMs });
    markedSlow = true;
    marking = ports.markSlow(job.tenantId, job.subscriptionId, ports.now().getTime() + config.breaker.slowForMs).catch((error: unknown) => {
      ports.log.warn('endpoint could not be marked slow', { ...s.fields, reason: errorMessage(error) });
    });
  });
  void slowMark;
  try {
    return { result: await sending, markedSlow };
  } finally {
    clearTimeout(timer);
    await marking;
  }
}

async function sendSigned(job: DeliveryJob, subscription: Subscription, ports: SenderPort & ClockPort, config: DeliveryConfig): Promise<AttemptResult> {
  let url: URL;
  try {
    url = checkUrl(subscription.url, config.endpoints);
  } catch (error) {
    if (error instanceof EndpointBlockedError) return { kind: 'error', error: 'blocked', message: error.message, durationMs: 0 };
    throw error;
  }
  const now = ports.now();
  const headers = {
    'content-type': 'application/json',
    'user-agent': config.userAgent,
    ...signatureHeaders(job.deliveryId, job.body, signingSecrets(subscription, now), now),
  };
  return ports.send({ url, headers, body: job.body });
}

/** The settle step: acts on the outcome. Errors of the actions go to the fault path. */
async function settle(step: StepOutcome, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  switch (step.kind) {
    case 'attempted':
      return settleAttempt(step, s, ports, config);
    case 'dropped':
      ports.log.info('delivery dropped', { ...s.fields, reason: step.reason });
      ports.metrics.count(METRIC.deliveriesDropped);
      return { result: 'dropped', reason: step.reason };
    case 'malformed':
      // A malformed job cannot improve with time: park it as it is, for an operator.
      return park(step.reason, s, ports);
    case 'expired':
      return park(step.reason, s, ports);
    case 'leave-fast-lane':
      return reschedule(s.job!, 0, `not tried in the fast lane: ${step.reason}`, s, ports, config);
    case 'wait': {
      ports.metrics.count(METRIC.deliveriesDeferred);
      const delaySeconds = Math.max(1, Math.ceil((step.untilMs - ports.now().getTime()) / 1000));
      if (config.lane === 'fast' || s.receiveCount >= RENEW_AFTER_RECEIVES) return reschedule(s.job!, delaySeconds, `waits (not an attempt): ${step.reason}`, s, ports, config);
      return retryAfter(Math.min(delaySeconds, MAX_VISIBILITY_SECONDS), `waits (not an attempt): ${step.reason}`, s, ports);
    }
    case 'fault':
      return fault(step.reason, s, ports, config);
  }
}

async function settleAttempt(step: Extract<StepOutcome, { kind: 'attempted' }>, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  const { outcome } = step;
  const job = s.job!;
  const attempt = s.attempts + 1;
  switch (outcome.kind) {
    case 'delivered': {
      ports.metrics.count(METRIC.deliveriesSucceeded);
      const latency = ports.now().getTime() - Date.parse(job.occurredAt);
      if (Number.isFinite(latency)) ports.metrics.milliseconds(METRIC.deliveryLatency, Math.max(0, latency));
      return { result: 'delivered', status: outcome.status };
    }
    case 'gone': {
      const reason = `endpoint answered 410 Gone on ${ports.now().toISOString()} (delivery ${job.deliveryId})`;
      const disabled = await disable(job, step.subscription, reason, ports.now().toISOString(), s, ports);
      if (disabled !== 'moved') return park('410 Gone: subscription disabled', s, ports, attempt);
      // The URL that answered 410 is no longer the subscription's: the next attempt goes to its new URL.
      countFailure(METRIC.deliveriesFailed, job.tenantId, ports);
      return retryOrPark({ reason: 'HTTP 410 from a URL the subscription has left since' }, step, s, ports, config);
    }
    case 'permanent':
      countFailure(METRIC.deliveriesFailed, job.tenantId, ports);
      return park(outcome.reason, s, ports, attempt);
    case 'retryable': {
      countFailure(METRIC.deliveriesFailed, job.tenantId, ports);
      const nowMs = ports.now().getTime();
      // A streak from before a resume (its health could not be reset) does not disable it again.
      if (shouldDisable(step.health, nowMs, config.breaker) && !resumedSince(step.subscription, step.health)) {
        const since = step.health!.failingSince!;
        const reason =
          `no successful delivery since ${since} (${config.breaker.disableAfterHours} h allowed; ` +
          `${plural(step.health!.consecutiveFailures, 'consecutive failed attempt')}); last: ${outcome.reason}`;
        const disabled = await disable(job, step.subscription, reason, since, s, ports);
        if (disabled !== 'moved') return park(`subscription disabled after sustained failure; ${reason}`, s, ports, attempt);
      }
      return retryOrPark(outcome, step, s, ports, config);
    }
  }
}

/** The next attempt on the retry lane after a failed one, or parking after the last. */
function retryOrPark(outcome: { readonly reason: string; readonly retryAfterSeconds?: number }, step: { readonly slow: boolean }, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  const job = s.job!;
  const attempt = s.attempts + 1;
  const decision = nextDelay(config.retry, attempt, outcome.retryAfterSeconds, ports.rng);
  if (decision.kind === 'park') return park(`failed ${plural(attempt, 'attempt')}; last: ${outcome.reason}`, s, ports, attempt);
  // Slow is not dead: an answer the fast lane did not wait for gets the retry lane's full timeout at once.
  const delaySeconds = step.slow ? 0 : decision.delaySeconds;
  const why = step.slow ? `attempt ${attempt} got no answer within the fast lane's timeout (${outcome.reason})` : `attempt ${attempt} failed (${outcome.reason})`;
  return reschedule({ ...job, attempts: attempt }, delaySeconds, why, s, ports, config);
}

/**
 * Disables the subscription if it is still active at the URL that failed. Only the call that
 * disabled it counts it and announces it: when a batch holds several jobs of the endpoint, they
 * all fail, and one `subscription.disabled` event is sent, not one per job.
 */
async function disable(job: DeliveryJob, subscription: Subscription, reason: string, since: string, s: Settling, ports: DeliveryPorts): Promise<DisableResult> {
  // Taken before the write, so the item's updatedAt (set by the disabling) is not older than it.
  const at = ports.now().toISOString();
  const result = await ports.disableSubscription(job.tenantId, job.subscriptionId, reason, subscription.url);
  if (result === 'disabled') {
    ports.metrics.count(METRIC.subscriptionsDisabled);
    ports.log.warn('subscription disabled', { ...s.fields, reason });
    // However it is resumed later (also by a direct write of the item), its health then starts afresh.
    try {
      await ports.markDisabled(job.tenantId, job.subscriptionId, at);
    } catch (error) {
      ports.log.warn('endpoint health could not be marked disabled; a resume without the CLI keeps it', { ...s.fields, reason: errorMessage(error) });
    }
    await announce(OPERATIONAL_DETAIL_TYPES.disabled, job, subscription, reason, since, ports);
  } else {
    ports.log.info(result === 'moved' ? 'subscription not disabled: it has moved to another URL since this attempt' : 'subscription not disabled here: it is no longer active', { ...s.fields, reason });
  }
  return result;
}

/**
 * Carries the job on as a new message on the retry lane, `delaySeconds` from now (a wait longer
 * than SQS's 15-minute delay rides in `notBefore`). This record is then deleted.
 */
async function reschedule(job: DeliveryJob, delaySeconds: number, why: string, s: Settling, ports: JobPort & ClockPort & ObservabilityPort, config: DeliveryConfig): Promise<DeliveryReport> {
  const nowMs = ports.now().getTime();
  const { notBefore: _old, ...rest } = job;
  const next: DeliveryJob = delaySeconds > MAX_DELAY_SECONDS ? { ...rest, notBefore: nowMs + delaySeconds * 1000 } : rest;
  await ports.toRetryLane(next, Math.min(delaySeconds, MAX_DELAY_SECONDS));
  // nextAttempt: a wait (circuit open, rate limit, not tried in the fast lane) is not an attempt.
  ports.log.info('delivery continues in the retry lane', { ...s.fields, from: config.lane, delaySeconds, nextAttempt: (job.attempts ?? 0) + 1, reason: why });
  return { result: 'rescheduled', delaySeconds, reason: why };
}

/** Why a job is past its deadline (queuedAt + deadlineSpanMs) at `nowMs`; undefined while it is not. */
function pastDeadline(job: DeliveryJob, attempts: number, nowMs: number, config: DeliveryConfig): string | undefined {
  const queuedMs = Date.parse(job.queuedAt ?? job.occurredAt);
  if (!Number.isFinite(queuedMs) || nowMs < queuedMs + config.deadlineSpanMs) return undefined;
  return `not delivered within its deadline (${formatSpan(config.deadlineSpanMs)} from ${new Date(queuedMs).toISOString()}) after ${plural(attempts, 'attempt')}`;
}

/**
 * The one fault path: a dependency of ours failed, not the endpoint. Counted as a fault, not as
 * a failed delivery; the same message comes back after the schedule's delay for the attempt the
 * fault held up (visibility), the last attempt included: never at once, so a lasting fault does
 * not spin through the queue's receives. SQS's redrive (fast lane: after max(5, maxAttempts)
 * receives) is the safety net when even that cannot be set. A job that faults after its deadline
 * is parked with the fault as its reason, and one received almost as often as the retry lane's
 * redrive allows carries on as a new message: a lasting fault (an unreadable subscription item, a
 * table that stays throttled) ends in the DLQ with its reason, never in the queue's retention.
 */
async function fault(reason: string, s: Settling, ports: JobPort & ClockPort & ObservabilityPort, config: DeliveryConfig): Promise<DeliveryReport> {
  ports.metrics.count(METRIC.deliveryFaults);
  ports.log.error('delivery fault', { ...s.fields, reason });
  const expired = s.job ? pastDeadline(s.job, s.attempts, ports.now().getTime(), config) : undefined;
  if (expired !== undefined) {
    try {
      return await park(`${expired}; last: fault: ${reason}`, s, ports);
    } catch (error) {
      ports.log.error('could not park the job after its deadline; it comes back', { ...s.fields, reason: errorMessage(error) });
    }
  }
  const decision = nextDelay({ ...config.retry, maxAttempts: Number.POSITIVE_INFINITY }, s.attempts + 1, undefined, ports.rng);
  const delaySeconds = decision.kind === 'retry' ? decision.delaySeconds : 0;
  if (config.lane === 'retry' && s.job && s.receiveCount >= RENEW_AFTER_RECEIVES) {
    try {
      return await reschedule(s.job, delaySeconds, `fault: ${reason}`, s, ports, config);
    } catch (error) {
      ports.log.warn('could not carry the job on as a new message; it comes back', { ...s.fields, reason: errorMessage(error) });
    }
  }
  return retryAfter(delaySeconds, `fault: ${reason}`, s, ports);
}

async function retryAfter(delaySeconds: number, why: string, s: Settling, ports: JobPort & ObservabilityPort): Promise<never> {
  try {
    await ports.retryLater(delaySeconds);
    ports.log.info('delivery will be retried', { ...s.fields, delaySeconds, reason: why });
  } catch (error) {
    // The job still comes back, after the queue's own visibility timeout.
    ports.log.warn('could not set the retry delay; the job returns after the queue visibility timeout', { ...s.fields, delaySeconds, reason: errorMessage(error) });
  }
  throw new RetryableError(`${why}; next in ${delaySeconds}s`);
}

/** A failure counts in the stack-wide metric (alarms) and once more per tenant (who is failing). */
function countFailure(name: MetricName, tenantId: string, ports: ObservabilityPort): void {
  ports.metrics.count(name);
  ports.metrics.countForTenant(name, tenantId);
}

async function park(reason: string, s: Settling, ports: JobPort & ObservabilityPort, attempts = s.attempts): Promise<DeliveryReport> {
  try {
    await ports.park(s.messageBody, reason, attempts);
  } catch (error) {
    throw new Error(`could not park the job (${errorMessage(error)}); reason was: ${reason}`);
  }
  if (s.job) countFailure(METRIC.deliveriesDeadLettered, s.job.tenantId, ports);
  else ports.metrics.count(METRIC.deliveriesDeadLettered);
  ports.log.warn('delivery parked in the dead-letter queue', { ...s.fields, reason });
  return { result: 'parked', reason };
}

function unhealthyReason(health: EndpointHealth, nowMs: number): string {
  if (health.circuit !== 'closed') return `circuit ${health.circuit}`;
  if ((health.slowUntil ?? 0) > nowMs) return `endpoint slow (no answer within the fast lane's timeout) until ${new Date(health.slowUntil!).toISOString()}`;
  return `endpoint failing (${plural(health.consecutiveFailures, 'consecutive failed attempt')})`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function formatSpan(ms: number): string {
  return ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
