/**
 * Every default of statushooks lives here, and only here. The CDK stack props, the Lambda
 * environment and the local runtime all start from these values.
 */
export const DEFAULTS = {
  stackName: 'StatusHooks',
  /** EventBridge `source` values the rule accepts. */
  sources: ['returns.cloud'] as readonly string[],
  /** Delivery attempts before a job is parked in the delivery DLQ. */
  maxAttempts: 5,
  /** Seconds to wait after failed attempt n (index n-1); the last entry repeats if attempts outnumber it. */
  retrySchedule: [60, 600, 3600, 21600] as readonly number[],
  /** ± fraction of jitter applied to each scheduled delay. */
  retryJitter: 0.2,
  /** Upper bound for a receiver's `Retry-After` (seconds); SQS caps visibility at 12 h. */
  maxRetryAfterSeconds: 21600,
  /** Total time for one webhook request, connect included (ms). */
  httpTimeoutMs: 10_000,
  /** Time to establish the TCP/TLS connection (ms). */
  httpConnectTimeoutMs: 3_000,
  /**
   * Delivery function timeout (s); the queue's visibility timeout is 6× this. Budget of one job
   * in the worst case: GetItem (≤ 3 tries × 4 s) + the POST (httpTimeoutMs, at most half of this)
   * + ChangeMessageVisibility or the DLQ send (≤ 3 × 4 s), plus UpdateItem on 410: under 60 s.
   */
  deliveryFunctionTimeoutSeconds: 60,
  fanOutFunctionTimeoutSeconds: 30,
  deliveryBatchSize: 10,
  deliveryMaxConcurrency: 10,
  /** Deny loopback/private/link-local targets (deployed default). */
  allowPrivateEndpoints: false,
  /** Deny plain `http://` targets (deployed default). */
  allowHttpEndpoints: false,
  archiveRetentionDays: 30,
  /** How long the Lambdas cache a subscription lookup (ms). */
  subscriptionCacheTtlMs: 5_000,
  /** Bounded retries of failed SendMessageBatch entries in fan-out. */
  sendBatchRetries: 3,
  dlqRetentionDays: 14,
  metricsNamespace: 'StatusHooks',
} as const;

/** Hard limit of SQS: visibility timeouts cannot exceed 12 hours. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Names of the environment variables the handlers read; the stack sets them. */
export const ENV = {
  subscriptionsTable: 'SUBSCRIPTIONS_TABLE',
  deliveryQueueUrl: 'DELIVERY_QUEUE_URL',
  deliveryDlqUrl: 'DELIVERY_DLQ_URL',
  fanOutDlqUrl: 'FANOUT_DLQ_URL',
  maxAttempts: 'MAX_ATTEMPTS',
  retrySchedule: 'RETRY_SCHEDULE',
  httpTimeoutMs: 'HTTP_TIMEOUT_MS',
  httpConnectTimeoutMs: 'HTTP_CONNECT_TIMEOUT_MS',
  allowPrivateEndpoints: 'ALLOW_PRIVATE_ENDPOINTS',
  allowHttpEndpoints: 'ALLOW_HTTP_ENDPOINTS',
  subscriptionCacheTtlMs: 'SUBSCRIPTION_CACHE_TTL_MS',
  userAgentVersion: 'STATUSHOOKS_VERSION',
} as const;

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly schedule: readonly number[];
  readonly jitter: number;
  readonly maxRetryAfterSeconds: number;
}

export interface EndpointPolicy {
  readonly allowPrivate: boolean;
  readonly allowHttp: boolean;
}

/** Problems with a retry configuration, as readable sentences; empty when it is valid. */
export function retryPolicyProblems(policy: { maxAttempts: number; schedule: readonly number[] }): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1 || policy.maxAttempts > 100) {
    problems.push(`maxAttempts must be an integer from 1 to 100, got ${policy.maxAttempts}`);
  }
  if (policy.schedule.length === 0) problems.push('retrySchedule must list at least one delay');
  for (const s of policy.schedule) {
    if (!Number.isInteger(s) || s < 0 || s > SQS_MAX_VISIBILITY_SECONDS) {
      problems.push(`retrySchedule delays must be whole seconds from 0 to ${SQS_MAX_VISIBILITY_SECONDS}, got ${s}`);
    }
  }
  return problems;
}

/** Parses "60,600,3600" into [60, 600, 3600]; throws a readable error. */
export function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`retry schedule must be comma-separated whole seconds, e.g. "60,600,3600", got "${text}"`);
  }
  return values;
}
