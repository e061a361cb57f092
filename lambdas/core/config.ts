import { LIMITS, parseSchedule, scheduleProblems, SETTING_DEFAULTS, SETTINGS } from './settings';

export { parseSchedule };

/**
 * The defaults the code reads: every stage setting's default (declared in `./settings`, the one
 * place for them) plus the fixed runtime values the functions share. Infrastructure-only values
 * live in lib/defaults.ts.
 */
export const DEFAULTS = {
  ...SETTING_DEFAULTS,
  /** ± fraction of jitter applied to each scheduled delay. */
  retryJitter: LIMITS.retryJitter,
  /** Upper bound for a receiver's `Retry-After` (seconds); SQS caps visibility at 12 h. */
  maxRetryAfterSeconds: 21600,
  /** Delivery function timeout (s); see LIMITS for the budget it has to cover. */
  deliveryFunctionTimeoutSeconds: LIMITS.deliveryFunctionTimeoutSeconds,
  /** Bounded retries of failed SendMessageBatch entries in fan-out. */
  sendBatchRetries: 3,
  metricsNamespace: 'StatusHooks',
} as const;

/** Hard limit of SQS: visibility timeouts cannot exceed 12 hours. */
export const SQS_MAX_VISIBILITY_SECONDS = LIMITS.sqsMaxVisibilitySeconds;

/**
 * Names of the environment variables the handlers read; the stack sets them. Resource names are
 * listed here; the settings' variables come from their declarations.
 */
export const ENV = {
  subscriptionsTable: 'SUBSCRIPTIONS_TABLE',
  deliveryQueueUrl: 'DELIVERY_QUEUE_URL',
  deliveryDlqUrl: 'DELIVERY_DLQ_URL',
  fanOutDlqUrl: 'FANOUT_DLQ_URL',
  healthTable: 'HEALTH_TABLE',
  deliveryLogTable: 'DELIVERY_LOG_TABLE',
  retryQueueUrl: 'RETRY_QUEUE_URL',
  /** `fast` or `retry`: which lane this delivery function drains (docs/architecture.md §7). */
  deliveryLane: 'DELIVERY_LANE',
  /** The stack's bus, for the operational events. */
  eventBusName: 'EVENT_BUS_NAME',
  userAgentVersion: 'STATUSHOOKS_VERSION',
  maxAttempts: SETTINGS.maxAttempts.env!.name,
  retrySchedule: SETTINGS.retrySchedule.env!.name,
  httpTimeoutMs: SETTINGS.httpTimeoutMs.env!.name,
  httpConnectTimeoutMs: SETTINGS.httpConnectTimeoutMs.env!.name,
  allowPrivateEndpoints: SETTINGS.allowPrivateEndpoints.env!.name,
  allowHttpEndpoints: SETTINGS.allowHttpEndpoints.env!.name,
  subscriptionCacheTtlMs: SETTINGS.subscriptionCacheTtlMs.env!.name,
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
  const problems = SETTINGS.maxAttempts.check!(policy.maxAttempts, SETTING_DEFAULTS);
  return [...problems, ...scheduleProblems(policy.schedule)];
}
