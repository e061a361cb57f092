import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DEFAULTS, retryPolicyProblems } from '../lambdas/core/config';
import { INFRA_DEFAULTS } from './defaults';
import { Delivery } from './delivery';
import { StatusHooksConfigError } from './errors';
import { StatusEventBus } from './event-bus';
import { FanOut } from './fan-out';
import { Monitoring } from './monitoring';
import { SubscriptionsTable } from './subscriptions-table';

/** Stage configuration of statushooks. Every value is optional; defaults come from `DEFAULTS`. */
export interface StatusHooksConfig {
  /**
   * EventBridge `source` values the rule accepts.
   * @default DEFAULTS.sources (`['returns.cloud']`)
   */
  readonly sources?: readonly string[];
  /**
   * Name of the custom event bus.
   * @default a unique name CDK derives from the stack and construct path (see the `EventBusName` output)
   */
  readonly eventBusName?: string;
  /**
   * Days the archive keeps accepted events for replay; 0 keeps them indefinitely.
   * @default DEFAULTS.archiveRetentionDays (30)
   */
  readonly archiveRetentionDays?: number;
  /**
   * Delivery attempts per job before it is parked in the delivery DLQ; also the delivery queue's
   * redrive `maxReceiveCount`.
   * @default DEFAULTS.maxAttempts (5)
   */
  readonly maxAttempts?: number;
  /**
   * Seconds to wait after failed attempt n (index n-1); the last entry repeats.
   * @default DEFAULTS.retrySchedule ([60, 600, 3600, 21600])
   */
  readonly retrySchedule?: readonly number[];
  /**
   * Total time of one webhook request, connect included (ms); must stay below the delivery
   * function timeout.
   * @default DEFAULTS.httpTimeoutMs (10000)
   */
  readonly httpTimeoutMs?: number;
  /**
   * Time to establish the TCP/TLS connection (ms); at most `httpTimeoutMs`.
   * @default DEFAULTS.httpConnectTimeoutMs (3000)
   */
  readonly httpConnectTimeoutMs?: number;
  /**
   * Jobs per delivery invocation (1–10: no batching window is configured).
   * @default DEFAULTS.deliveryBatchSize (10)
   */
  readonly deliveryBatchSize?: number;
  /**
   * Maximum concurrent delivery invocations the event source starts (2–1000), i.e. the
   * upper bound of parallel webhook traffic.
   * @default DEFAULTS.deliveryMaxConcurrency (10)
   */
  readonly deliveryMaxConcurrency?: number;
  /**
   * Allow endpoints that resolve to loopback, private, link-local or other non-public addresses.
   * @default DEFAULTS.allowPrivateEndpoints (false)
   */
  readonly allowPrivateEndpoints?: boolean;
  /**
   * Allow plain `http://` endpoints.
   * @default DEFAULTS.allowHttpEndpoints (false)
   */
  readonly allowHttpEndpoints?: boolean;
  /**
   * How long the functions cache a subscription lookup (ms); 0 disables the cache.
   * @default DEFAULTS.subscriptionCacheTtlMs (5000)
   */
  readonly subscriptionCacheTtlMs?: number;
  /**
   * Alarm when the oldest job in the delivery queue is older than this many seconds.
   * @default INFRA_DEFAULTS.deliveryQueueAgeAlarmSeconds (3600)
   */
  readonly deliveryQueueAgeAlarmSeconds?: number;
}

export interface StatusHooksStackProps extends StackProps, StatusHooksConfig {
  /**
   * Topic the alarms notify.
   * @default none: alarms show in the CloudWatch console only
   */
  readonly alarmTopic?: sns.ITopic;
}

/** The configuration with every default applied, after validation. */
export type ResolvedStatusHooksConfig = Required<Omit<StatusHooksConfig, 'eventBusName'>> &
  Pick<StatusHooksConfig, 'eventBusName'>;

/** How long the delivery queue keeps a job; a retry schedule must fit inside it. */
const DELIVERY_QUEUE_RETENTION_SECONDS = INFRA_DEFAULTS.deliveryQueueRetentionDays * 86_400;

/**
 * Applies the defaults and validates the whole configuration in one place. Collects every
 * problem and throws one StatusHooksConfigError listing them all, so a bad stage config is
 * fixed in one round rather than one error per synth.
 */
export function resolveStatusHooksConfig(config: StatusHooksConfig): ResolvedStatusHooksConfig {
  const resolved: ResolvedStatusHooksConfig = {
    sources: config.sources ?? DEFAULTS.sources,
    eventBusName: config.eventBusName,
    archiveRetentionDays: config.archiveRetentionDays ?? DEFAULTS.archiveRetentionDays,
    maxAttempts: config.maxAttempts ?? DEFAULTS.maxAttempts,
    retrySchedule: config.retrySchedule ?? DEFAULTS.retrySchedule,
    httpTimeoutMs: config.httpTimeoutMs ?? DEFAULTS.httpTimeoutMs,
    httpConnectTimeoutMs: config.httpConnectTimeoutMs ?? DEFAULTS.httpConnectTimeoutMs,
    deliveryBatchSize: config.deliveryBatchSize ?? DEFAULTS.deliveryBatchSize,
    deliveryMaxConcurrency: config.deliveryMaxConcurrency ?? DEFAULTS.deliveryMaxConcurrency,
    allowPrivateEndpoints: config.allowPrivateEndpoints ?? DEFAULTS.allowPrivateEndpoints,
    allowHttpEndpoints: config.allowHttpEndpoints ?? DEFAULTS.allowHttpEndpoints,
    subscriptionCacheTtlMs: config.subscriptionCacheTtlMs ?? DEFAULTS.subscriptionCacheTtlMs,
    deliveryQueueAgeAlarmSeconds: config.deliveryQueueAgeAlarmSeconds ?? INFRA_DEFAULTS.deliveryQueueAgeAlarmSeconds,
  };
  const r = resolved;
  const problems: string[] = [];
  const integerIn = (name: string, value: number, min: number, max: number, why = ''): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}${why}, got ${value}`);
    }
  };

  if (r.sources.length === 0) problems.push('sources must list at least one EventBridge source');
  if (r.sources.some((s) => typeof s !== 'string' || s.trim() === '')) problems.push('sources must not contain empty values');
  if (r.eventBusName !== undefined && (r.eventBusName === 'default' || !/^[\w.-]{1,256}$/.test(r.eventBusName))) {
    problems.push(`eventBusName must be 1–256 letters, digits, '.', '-' or '_' and not "default", got "${r.eventBusName}"`);
  }
  integerIn('archiveRetentionDays', r.archiveRetentionDays, 0, 36_500);

  const policyProblems = retryPolicyProblems({ maxAttempts: r.maxAttempts, schedule: r.retrySchedule });
  problems.push(...policyProblems);
  if (policyProblems.length === 0) {
    // Jobs that outlive the queue's retention vanish silently: the schedule must fit, jitter included.
    let span = 0;
    for (let attempt = 1; attempt < r.maxAttempts; attempt++) {
      span += r.retrySchedule[Math.min(attempt, r.retrySchedule.length) - 1]!;
    }
    const worstCase = Math.ceil(span * (1 + DEFAULTS.retryJitter));
    if (worstCase >= DELIVERY_QUEUE_RETENTION_SECONDS) {
      problems.push(
        `retrySchedule with maxAttempts ${r.maxAttempts} waits up to ${worstCase} s between the first and the last attempt, ` +
          `more than the delivery queue keeps a job (${DELIVERY_QUEUE_RETENTION_SECONDS} s)`,
      );
    }
  }

  const functionTimeoutMs = DEFAULTS.deliveryFunctionTimeoutSeconds * 1000;
  // The other half of the function's time is for the DynamoDB and SQS calls around the POST.
  integerIn('httpTimeoutMs', r.httpTimeoutMs, 1, functionTimeoutMs / 2, ' (at most half the delivery function timeout)');
  integerIn('httpConnectTimeoutMs', r.httpConnectTimeoutMs, 1, Math.max(1, r.httpTimeoutMs), ' (at most httpTimeoutMs)');
  // SQS allows more than 10 only with a batching window, which delivery deliberately does not use.
  integerIn('deliveryBatchSize', r.deliveryBatchSize, 1, 10);
  // The limits of the event source mapping's ScalingConfig.MaximumConcurrency.
  integerIn('deliveryMaxConcurrency', r.deliveryMaxConcurrency, 2, 1000);
  if (typeof r.allowPrivateEndpoints !== 'boolean') problems.push(`allowPrivateEndpoints must be true or false, got ${String(r.allowPrivateEndpoints)}`);
  if (typeof r.allowHttpEndpoints !== 'boolean') problems.push(`allowHttpEndpoints must be true or false, got ${String(r.allowHttpEndpoints)}`);
  integerIn('subscriptionCacheTtlMs', r.subscriptionCacheTtlMs, 0, 3_600_000);
  integerIn('deliveryQueueAgeAlarmSeconds', r.deliveryQueueAgeAlarmSeconds, 60, DELIVERY_QUEUE_RETENTION_SECONDS);

  if (problems.length > 0) {
    throw new StatusHooksConfigError('statushooks configuration', problems);
  }
  return resolved;
}

/**
 * statushooks: EventBridge bus → fan-out Lambda → SQS delivery queue → delivery Lambda → signed
 * webhook (docs/architecture.md). Environment-agnostic, so it synthesizes offline.
 */
export class StatusHooksStack extends Stack {
  readonly config: ResolvedStatusHooksConfig;
  readonly eventBus: StatusEventBus;
  readonly subscriptions: SubscriptionsTable;
  readonly fanOut: FanOut;
  readonly delivery: Delivery;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: StatusHooksStackProps = {}) {
    super(scope, id, {
      description: 'statushooks: signed, retried webhook delivery of status-change events',
      ...props,
    });
    // Before any resource exists: a bad configuration fails fast with every problem listed.
    const config = resolveStatusHooksConfig(props);
    this.config = config;

    this.subscriptions = new SubscriptionsTable(this, 'Subscriptions');
    const table = this.subscriptions.table;

    this.delivery = new Delivery(this, 'Delivery', {
      table,
      maxAttempts: config.maxAttempts,
      retrySchedule: config.retrySchedule,
      httpTimeoutMs: config.httpTimeoutMs,
      httpConnectTimeoutMs: config.httpConnectTimeoutMs,
      batchSize: config.deliveryBatchSize,
      maxConcurrency: config.deliveryMaxConcurrency,
      allowPrivateEndpoints: config.allowPrivateEndpoints,
      allowHttpEndpoints: config.allowHttpEndpoints,
      subscriptionCacheTtlMs: config.subscriptionCacheTtlMs,
    });

    this.fanOut = new FanOut(this, 'FanOut', {
      table,
      deliveryQueue: this.delivery.queue,
      subscriptionCacheTtlMs: config.subscriptionCacheTtlMs,
    });

    this.eventBus = new StatusEventBus(this, 'Events', {
      eventBusName: config.eventBusName,
      sources: config.sources,
      archiveRetention: Duration.days(config.archiveRetentionDays),
      fanOutFunction: this.fanOut.function,
      deadLetterQueue: this.fanOut.deadLetterQueue,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      deliveryQueue: this.delivery.queue,
      deliveryDeadLetterQueue: this.delivery.deadLetterQueue,
      fanOutDeadLetterQueue: this.fanOut.deadLetterQueue,
      fanOutFunction: this.fanOut.function,
      deliveryFunction: this.delivery.function,
      deliveryQueueMaxAge: Duration.seconds(config.deliveryQueueAgeAlarmSeconds),
      alarmTopic: props.alarmTopic,
    });

    // Public contract (producers, CLI, local runtime's dev.json): ids are the output keys.
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.bus.eventBusName, description: 'PutEvents here' });
    new CfnOutput(this, 'EventBusArn', { value: this.eventBus.bus.eventBusArn });
    new CfnOutput(this, 'SubscriptionsTableName', { value: table.tableName, description: 'Subscription items (tenantId, subscriptionId)' });
    new CfnOutput(this, 'DeliveryQueueUrl', { value: this.delivery.queue.queueUrl });
    new CfnOutput(this, 'DeliveryDlqUrl', { value: this.delivery.deadLetterQueue.queueUrl, description: 'Parked delivery jobs; redrive to DeliveryQueueUrl' });
    new CfnOutput(this, 'FanOutDlqUrl', { value: this.fanOut.deadLetterQueue.queueUrl, description: 'Events that could not be fanned out' });
  }
}
