import type { EndpointPolicy, RetryPolicy } from './config';
import { checkUrl, redactUrl } from './endpoint-guard';
import { EndpointBlockedError, errorMessage, RetryableError } from './errors';
import { parseJob, type DeliveryJob } from './job';
import { classify, type AttemptResult, type Outcome } from './outcome';
import { METRIC, type Log, type Metrics } from './ports';
import { nextDelay } from './retry';
import { signatureHeaders } from './signing';
import { signingSecrets, type Subscription } from './subscriptions';

/** One webhook request as the sender performs it. */
export interface WebhookRequest {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The subscription a job belongs to: read before the attempt, disabled after a 410. */
export interface SubscriptionPort {
  getSubscription(tenantId: string, subscriptionId: string): Promise<Subscription | undefined>;
  disableSubscription(tenantId: string, subscriptionId: string, reason: string): Promise<void>;
}

/** Performs one HTTP attempt; never throws for what the endpoint does (that is the result). */
export interface SenderPort {
  send(request: WebhookRequest): Promise<AttemptResult>;
}

/** What can be done with the SQS message of the job. */
export interface JobPort {
  /** Hides this job for `delaySeconds` (the SQS message's visibility). */
  retryLater(delaySeconds: number): Promise<void>;
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

/** Everything `deliver` needs; each step below takes only the parts it uses. */
export type DeliveryPorts = SubscriptionPort & SenderPort & JobPort & ClockPort & ObservabilityPort;

export interface DeliveryConfig {
  readonly retry: RetryPolicy;
  readonly endpoints: EndpointPolicy;
  readonly userAgent: string;
}

/**
 * How a job ended in this invocation, when its record may be deleted. A job that must come
 * back is not a report: `deliver` throws RetryableError after setting its visibility.
 */
export type DeliveryReport =
  | { readonly result: 'delivered'; readonly status: number }
  | { readonly result: 'dropped'; readonly reason: string }
  | { readonly result: 'parked'; readonly reason: string };

/**
 * What the attempt step yields: the endpoint's outcome, or a decision taken before any request.
 * `fault` is a failure of our own dependencies (DynamoDB, SQS): nothing was sent.
 */
export type StepOutcome =
  | Outcome
  | { readonly kind: 'dropped'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'fault'; readonly reason: string };

type Fields = Record<string, unknown>;

/**
 * Delivers one job (one SQS record): the attempt step yields an outcome, the settle step acts on
 * it. Resolves when the record may be deleted (delivered, dropped or parked); throws
 * RetryableError when it must come back, after its visibility was set. Nothing is acknowledged
 * without being delivered, parked or dropped on purpose.
 */
export async function deliver(messageBody: string, attempt: number, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  let job: DeliveryJob | undefined;
  let outcome: StepOutcome;
  try {
    job = parseJob(messageBody);
  } catch (error) {
    outcome = { kind: 'malformed', reason: `malformed job: ${(error as Error).message}` };
  }
  const fields: Fields = job
    ? { eventId: job.eventId, deliveryId: job.deliveryId, event: job.event, tenantId: job.tenantId, subscriptionId: job.subscriptionId, attempt }
    : { attempt };
  outcome ??= await attemptJob(job!, fields, ports, config);
  try {
    return await settle(outcome, { job, messageBody, attempt, fields }, ports, config);
  } catch (error) {
    if (error instanceof RetryableError) throw error;
    // Disabling after a 410, or parking, failed: the one fault path.
    return fault(`${errorMessage(error)} (while settling: ${outcome.kind})`, { job, messageBody, attempt, fields }, ports, config);
  }
}

/** The attempt step: look the subscription up, check the endpoint, sign and send once. */
async function attemptJob(job: DeliveryJob, fields: Fields, ports: SubscriptionPort & SenderPort & ClockPort & ObservabilityPort, config: DeliveryConfig): Promise<StepOutcome> {
  let subscription: Subscription | undefined;
  try {
    subscription = await ports.getSubscription(job.tenantId, job.subscriptionId);
  } catch (error) {
    return { kind: 'fault', reason: `fault: ${errorMessage(error)}` };
  }
  if (!subscription || subscription.state !== 'active') {
    return { kind: 'dropped', reason: subscription ? `subscription is ${subscription.state}` : 'subscription no longer exists' };
  }
  const result = await sendSigned(job, subscription, ports, config);
  const outcome = classify(result, ports.now());
  if (result.kind !== 'error' || result.error !== 'blocked') ports.metrics.milliseconds(METRIC.endpointResponseTime, result.durationMs);
  ports.log.info('delivery attempt', {
    ...fields,
    url: redactUrl(subscription.url),
    outcome: outcome.kind,
    statusCode: result.kind === 'response' ? result.status : undefined,
    error: result.kind === 'error' ? result.message : undefined,
    durationMs: result.durationMs,
  });
  return outcome;
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

interface Settling {
  readonly job: DeliveryJob | undefined;
  readonly messageBody: string;
  readonly attempt: number;
  readonly fields: Fields;
}

/** The settle step: acts on the outcome. Errors of the actions go to the fault path. */
async function settle(outcome: StepOutcome, s: Settling, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  switch (outcome.kind) {
    case 'delivered': {
      ports.metrics.count(METRIC.deliveriesSucceeded);
      const latency = ports.now().getTime() - Date.parse(s.job!.occurredAt);
      if (Number.isFinite(latency)) ports.metrics.milliseconds(METRIC.deliveryLatency, Math.max(0, latency));
      return { result: 'delivered', status: outcome.status };
    }
    case 'dropped':
      ports.log.info('delivery dropped', { ...s.fields, reason: outcome.reason });
      ports.metrics.count(METRIC.deliveriesDropped);
      return { result: 'dropped', reason: outcome.reason };
    case 'malformed':
      // A malformed job cannot improve with time: park it as it is, for an operator.
      return park(outcome.reason, s, ports);
    case 'gone': {
      const job = s.job!;
      const reason = `endpoint answered 410 Gone on ${ports.now().toISOString()} (delivery ${job.deliveryId})`;
      await ports.disableSubscription(job.tenantId, job.subscriptionId, reason);
      ports.metrics.count(METRIC.subscriptionsDisabled);
      ports.log.warn('subscription disabled', { ...s.fields, reason });
      return park('410 Gone: subscription disabled', s, ports);
    }
    case 'permanent':
      ports.metrics.count(METRIC.deliveriesFailed);
      return park(outcome.reason, s, ports);
    case 'retryable': {
      ports.metrics.count(METRIC.deliveriesFailed);
      const decision = nextDelay(config.retry, s.attempt, outcome.retryAfterSeconds, ports.rng);
      if (decision.kind === 'park') {
        return park(`failed ${s.attempt} attempt${s.attempt === 1 ? '' : 's'}; last: ${outcome.reason}`, s, ports);
      }
      return retryAfter(decision.delaySeconds, `attempt ${s.attempt} failed (${outcome.reason})`, s, ports);
    }
    case 'fault':
      return fault(outcome.reason, s, ports, config);
  }
}

/**
 * The one fault path: a dependency of ours failed, not the endpoint. Counted as a fault, not as
 * a failed delivery; the job comes back after the schedule's delay for this attempt. On the last
 * attempt it is made visible at once, so SQS's redrive (maxReceiveCount = maxAttempts) moves it
 * to the DLQ even when our own parking is what failed.
 */
async function fault(reason: string, s: Settling, ports: JobPort & ClockPort & ObservabilityPort, config: DeliveryConfig): Promise<never> {
  ports.metrics.count(METRIC.deliveryFaults);
  ports.log.error('delivery fault', { ...s.fields, reason });
  const decision = nextDelay(config.retry, s.attempt, undefined, ports.rng);
  return retryAfter(decision.kind === 'retry' ? decision.delaySeconds : 0, `fault: ${reason}`, s, ports);
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

async function park(reason: string, s: Settling, ports: JobPort & ObservabilityPort): Promise<DeliveryReport> {
  try {
    await ports.park(s.messageBody, reason, s.attempt);
  } catch (error) {
    throw new Error(`could not park the job (${errorMessage(error)}); reason was: ${reason}`);
  }
  ports.metrics.count(METRIC.deliveriesDeadLettered);
  ports.log.warn('delivery parked in the dead-letter queue', { ...s.fields, reason });
  return { result: 'parked', reason };
}
