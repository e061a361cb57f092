import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { LIMITS } from '../lambdas/core/settings';

/**
 * Fixed values that only the infrastructure knows about (not configurable per stage). The stage
 * settings (attempts, schedule, timeouts, batch size, alarm threshold…) are declared in
 * `lambdas/core/settings.ts`; this object holds the knobs that exist only as AWS resource
 * settings, so there is still exactly one place per value.
 */
export const INFRA_DEFAULTS = {
  /** Memory of both functions (MB). Explicit because cdk-nag (Serverless) rightly flags the 128 MB default. */
  functionMemorySizeMb: 256,
  /** Retention of the functions' log groups. */
  logRetention: RetentionDays.ONE_MONTH,
  /**
   * EventBridge → fan-out target retries. They only cover failures to *hand the event to* Lambda
   * (throttling, service errors): the invoke is asynchronous, so handler failures are retried by
   * Lambda's async retries instead.
   */
  ruleTargetRetryAttempts: 8,
  ruleTargetMaxEventAgeHours: 2,
  /** Lambda async retries of a failing fan-out invocation before it goes to the fan-out DLQ. */
  fanOutAsyncRetryAttempts: 2,
  fanOutAsyncMaxEventAgeHours: 6,
  /** Delivery queue visibility timeout = this × delivery function timeout (AWS guidance for SQS event sources). */
  visibilityTimeoutFactor: 6,
  /** Retention of the delivery queue; the settings' ranges depend on it, so it is declared with them. */
  deliveryQueueRetentionDays: LIMITS.deliveryQueueRetentionDays,
  /** Delivery function timeout (s); declared with the settings, whose ranges depend on it. */
  deliveryFunctionTimeoutSeconds: LIMITS.deliveryFunctionTimeoutSeconds,
  fanOutFunctionTimeoutSeconds: 30,
  /**
   * Default retention of a statushooks queue: 14 days, the SQS maximum. The dead-letter queues use
   * it because parked messages wait for an operator; the delivery queue sets its own (above).
   */
  queueRetentionDays: 14,
  /** Redrive of the retry lane; declared with the settings, as the delivery function renews jobs before it. */
  retryLaneMaxReceiveCount: LIMITS.retryLaneMaxReceiveCount,
} as const;
