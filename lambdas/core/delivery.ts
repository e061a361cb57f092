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

export interface DeliveryPorts {
  getSubscription(tenantId: string, subscriptionId: string): Promise<Subscription | undefined>;
  disableSubscription(tenantId: string, subscriptionId: string, reason: string): Promise<void>;
  send(request: WebhookRequest): Promise<AttemptResult>;
  /** Hides this job for `delaySeconds` (the SQS message's visibility). */
  retryLater(delaySeconds: number): Promise<void>;
  /** Parks the job's original message body in the delivery DLQ with the reason. */
  park(body: string, reason: string, attempts: number): Promise<void>;
  now(): Date;
  rng(): number;
  log: Log;
  metrics: Metrics;
}

export interface DeliveryConfig {
  readonly retry: RetryPolicy;
  readonly endpoints: EndpointPolicy;
  readonly userAgent: string;
}

/** How a job ended in this invocation. `retry` means the record is reported as failed. */
export type DeliveryReport =
  | { readonly result: 'delivered'; readonly status: number }
  | { readonly result: 'dropped'; readonly reason: string }
  | { readonly result: 'parked'; readonly reason: string }
  | { readonly result: 'retry'; readonly reason: string; readonly delaySeconds: number };

/**
 * Delivers one job (one SQS record). Resolves when the record may be deleted (delivered,
 * dropped or parked); throws RetryableError when it must come back later, after setting its
 * visibility to the retry policy's delay. Faults of our dependencies (DynamoDB, SQS) take the
 * retry path too, so a job is never acknowledged without being delivered or parked.
 */
export async function deliver(messageBody: string, attempt: number, ports: DeliveryPorts, config: DeliveryConfig): Promise<DeliveryReport> {
  let job: DeliveryJob;
  try {
    job = parseJob(messageBody);
  } catch (error) {
    // A malformed job cannot improve with time: park it as it is, for an operator.
    return park(messageBody, `malformed job: ${(error as Error).message}`, attempt, ports, {});
  }
  const fields = { eventId: job.eventId, deliveryId: job.deliveryId, event: job.event, tenantId: job.tenantId, subscriptionId: job.subscriptionId, attempt };

  let outcome: Outcome;
  let durationMs: number | undefined;
  try {
    const subscription = await ports.getSubscription(job.tenantId, job.subscriptionId);
    if (!subscription || subscription.state !== 'active') {
      const reason = subscription ? `subscription is ${subscription.state}` : 'subscription no longer exists';
      ports.log.info('delivery dropped', { ...fields, reason });
      ports.metrics.count(METRIC.deliveriesDropped);
      return { result: 'dropped', reason };
    }
    const result = await attemptDelivery(job, subscription, ports, config);
    durationMs = result.durationMs;
    outcome = classify(result, ports.now());
    ports.metrics.milliseconds(METRIC.endpointResponseTime, result.durationMs);
    ports.log.info('delivery attempt', {
      ...fields,
      url: redactUrl(subscription.url),
      outcome: outcome.kind,
      statusCode: result.kind === 'response' ? result.status : undefined,
      error: result.kind === 'error' ? result.message : undefined,
      durationMs: result.durationMs,
    });
  } catch (error) {
    // DynamoDB or another dependency failed: not the receiver's fault, but retried the same way.
    ports.log.error('delivery fault', { ...fields, reason: errorMessage(error) });
    outcome = { kind: 'retryable', reason: `fault: ${errorMessage(error)}` };
  }

  switch (outcome.kind) {
    case 'delivered': {
      ports.metrics.count(METRIC.deliveriesSucceeded);
      const latency = ports.now().getTime() - Date.parse(job.occurredAt);
      if (Number.isFinite(latency)) ports.metrics.milliseconds(METRIC.deliveryLatency, Math.max(0, latency));
      return { result: 'delivered', status: outcome.status };
    }
    case 'gone': {
      const reason = `endpoint answered 410 Gone on ${ports.now().toISOString()} (delivery ${job.deliveryId})`;
      await ports.disableSubscription(job.tenantId, job.subscriptionId, reason);
      ports.metrics.count(METRIC.subscriptionsDisabled);
      ports.log.warn('subscription disabled', { ...fields, reason });
      return park(messageBody, `410 Gone: subscription disabled`, attempt, ports, fields);
    }
    case 'permanent':
      ports.metrics.count(METRIC.deliveriesFailed);
      return park(messageBody, outcome.reason, attempt, ports, fields);
    case 'retryable': {
      ports.metrics.count(METRIC.deliveriesFailed);
      const decision = nextDelay(config.retry, attempt, outcome.retryAfterSeconds, ports.rng);
      if (decision.kind === 'park') {
        return park(messageBody, `failed ${attempt} attempt${attempt === 1 ? '' : 's'}; last: ${outcome.reason}`, attempt, ports, fields);
      }
      try {
        await ports.retryLater(decision.delaySeconds);
      } catch (error) {
        // The message still comes back after the queue's own visibility timeout.
        ports.log.warn('could not set the retry delay', { ...fields, reason: errorMessage(error) });
      }
      ports.log.info('delivery will be retried', { ...fields, delaySeconds: decision.delaySeconds, reason: outcome.reason, durationMs });
      throw new RetryableError(`attempt ${attempt} failed (${outcome.reason}); next in ${decision.delaySeconds}s`);
    }
  }
}

async function attemptDelivery(job: DeliveryJob, subscription: Subscription, ports: DeliveryPorts, config: DeliveryConfig): Promise<AttemptResult> {
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

async function park(body: string, reason: string, attempt: number, ports: DeliveryPorts, fields: Record<string, unknown>): Promise<DeliveryReport> {
  try {
    await ports.park(body, reason, attempt);
  } catch (error) {
    // Could not park: make the message visible again at once so SQS redrive (maxReceiveCount)
    // moves it to the DLQ, or the next attempt parks it. Never acknowledge it.
    ports.log.error('parking failed; leaving the job to SQS redrive', { ...fields, reason, error: errorMessage(error) });
    await ports.retryLater(0).catch(() => undefined);
    throw new RetryableError(`could not park the job (${errorMessage(error)}); reason was: ${reason}`);
  }
  ports.metrics.count(METRIC.deliveriesDeadLettered);
  ports.log.warn('delivery parked in the dead-letter queue', { ...fields, reason });
  return { result: 'parked', reason };
}
