import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/**
 * Defaults that only the infrastructure knows about. Everything the Lambdas or the local runtime
 * also read (attempts, schedule, timeouts, batch size…) stays in `lambdas/core/config.ts`; this
 * object holds the knobs that exist only as AWS resource settings, so there is still exactly one
 * place per value.
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
  /**
   * Alarm when the oldest delivery job is older than this (s). SQS leaves messages received three
   * times or more out of ApproximateAgeOfOldestMessage, so jobs waiting for their long retries
   * (1 h, 6 h) do not trip it; an old *fresh* job does, and that means delivery is not keeping up.
   */
  deliveryQueueAgeAlarmSeconds: 3600,
  /**
   * Retention of the delivery queue: days, since jobs wait hours between attempts (the default
   * schedule spans ~7 h), but shorter than the DLQs' 14 days because a message SQS itself
   * redrives keeps its first enqueue time and would otherwise expire early in the DLQ.
   */
  deliveryQueueRetentionDays: 4,
} as const;
