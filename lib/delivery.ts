import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import { OPERATIONAL_DETAIL_TYPE_LIST, OPERATIONAL_SOURCE } from '../lambdas/core/operational';
import { LIMITS } from '../lambdas/core/settings';
import { INFRA_DEFAULTS } from './defaults';
import { StatusHooksFunction, type FunctionObservability } from './function';
import { StatusHooksQueue } from './queue';

/**
 * The fast lane's redrive `maxReceiveCount`: at least maxAttempts (a legacy job without `attempts`
 * counts its receives as attempts), and never below AWS's least for a queue that feeds Lambda
 * (LIMITS.lambdaSourceMinMaxReceiveCount, 5): a throttled, timed-out or crashed invocation returns
 * its whole batch, each job received once more without an attempt, so a lower count would park a
 * batch untried and without reasons.
 */
export function fastLaneMaxReceiveCount(maxAttempts: number): number {
  return Math.max(LIMITS.lambdaSourceMinMaxReceiveCount, maxAttempts);
}

/** Everything here is required: the stack resolves defaults and validates before passing them. */
export interface DeliveryProps {
  readonly table: dynamodb.ITable;
  /** Endpoint health, rate-limit counters and operational events. */
  readonly healthTable: dynamodb.ITable;
  /** The delivery log: one record per delivery, updated on every attempt. */
  readonly deliveryLogTable: dynamodb.ITable;
  /** Attempts per job; the fast lane's redrive `maxReceiveCount` is at least this (see `fastLaneMaxReceiveCount`). */
  readonly maxAttempts: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  /** Concurrency of the retry lane, apart from the fast lane's. */
  readonly retryMaxConcurrency: number;
  /** The function's settings as environment variables (`settingsEnvironment(settings, 'delivery')`). */
  readonly settings: Readonly<Record<string, string>>;
  readonly observability: FunctionObservability;
}

/**
 * The delivery queue, its dead-letter queue and the delivery function that drains it through an
 * SQS event source mapping. A failed attempt is retried by the function setting the job's
 * visibility to the scheduled delay and reporting it as a batch item failure; the queue's redrive
 * policy (maxReceiveCount = max(5, maxAttempts), see `fastLaneMaxReceiveCount`) is the backstop
 * that parks a job in the DLQ.
 */
export class Delivery extends Construct {
  readonly queue: StatusHooksQueue;
  readonly deadLetterQueue: StatusHooksQueue;
  /** The fast lane: first attempts to healthy endpoints. */
  readonly function: StatusHooksFunction;
  /** The retry lane: retries, slow and failing endpoints, waits (DELIVERY_LANE=retry). */
  readonly retryFunction: StatusHooksFunction;
  readonly retryQueue: StatusHooksQueue;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const functionTimeout = Duration.seconds(INFRA_DEFAULTS.deliveryFunctionTimeoutSeconds);

    // Parked jobs are data an operator still has to act on: keep them if the stack is deleted.
    this.deadLetterQueue = new StatusHooksQueue(this, 'DeadLetterQueue', { removalPolicy: RemovalPolicy.RETAIN });
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This is the delivery dead-letter queue itself: jobs are parked here for an operator to inspect and redrive into the delivery queue; it has no consumer that could fail.',
      },
    );

    this.queue = new StatusHooksQueue(this, 'Queue', {
      // Well above the function timeout so a job is never delivered twice concurrently while an
      // invocation still runs (AWS guidance for SQS event sources: 6× the function timeout).
      visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * INFRA_DEFAULTS.visibilityTimeoutFactor),
      retentionPeriod: Duration.days(INFRA_DEFAULTS.deliveryQueueRetentionDays),
      // Faults (our own dependencies failing) retry a job on this queue by visibility: after
      // max(5, maxAttempts) receives SQS parks it even if the handler cannot.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: fastLaneMaxReceiveCount(props.maxAttempts) },
    });

    // Both lanes' jobs carry their attempt count (a failed attempt re-queues the job on the retry
    // lane), so receives only count as a crash safety net here: the retry lane also receives a
    // job every time it waits (open circuit, rate limit), hence SQS's maximum there.
    this.retryQueue = new StatusHooksQueue(this, 'RetryQueue', {
      visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * INFRA_DEFAULTS.visibilityTimeoutFactor),
      // A job may wait behind an open circuit until its subscription is disabled (disableAfterHours ≤ 13 days).
      retentionPeriod: Duration.days(INFRA_DEFAULTS.queueRetentionDays),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: INFRA_DEFAULTS.retryLaneMaxReceiveCount },
    });

    this.function = this.laneFunction('Function', 'fast', this.queue, props.batchSize, props.maxConcurrency, props);
    this.retryFunction = this.laneFunction('RetryFunction', 'retry', this.retryQueue, props.batchSize, props.retryMaxConcurrency, props);
  }

  /** Lets both lanes publish the operational events on the stack's bus. */
  publishOperationalEventsTo(bus: events.IEventBus): void {
    for (const fn of [this.function, this.retryFunction]) {
      fn.addEnvironment(ENV.eventBusName, bus.eventBusName);
      // Its own operational events only (source `statushooks`, their three detail types): a
      // delivery function cannot put a status-change event on the bus, which fan-out would turn
      // into signed webhooks.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [bus.eventBusArn],
          conditions: { StringEquals: { 'events:source': OPERATIONAL_SOURCE, 'events:detail-type': [...OPERATIONAL_DETAIL_TYPE_LIST] } },
        }),
      );
    }
  }

  /** One lane: the same bundle, told its lane by DELIVERY_LANE, draining its own queue. */
  private laneFunction(id: string, lane: 'fast' | 'retry', queue: StatusHooksQueue, batchSize: number, maxConcurrency: number, props: DeliveryProps): StatusHooksFunction {
    const fn = new StatusHooksFunction(this, id, {
      entry: 'lambdas/delivery/handler.ts',
      serviceName: lane === 'fast' ? 'statushooks-delivery' : 'statushooks-retry',
      description:
        lane === 'fast'
          ? 'statushooks: first attempts to healthy endpoints → signed webhook POST (fast lane)'
          : 'statushooks: retries, slow and failing endpoints → signed webhook POST (retry lane)',
      timeout: Duration.seconds(INFRA_DEFAULTS.deliveryFunctionTimeoutSeconds),
      observability: props.observability,
    });
    fn.addEnvironment(ENV.deliveryLane, lane);
    // Reads the subscription (secret, state) and disables it on 410 Gone or sustained failure: nothing else.
    fn.bindTable(ENV.subscriptionsTable, props.table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // Health: read, counted updates, rate tokens; PutItem for the operational events it keeps.
    fn.bindTable(ENV.healthTable, props.healthTable, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem']);
    // The delivery log: one UpdateItem per attempt, parking or drop (it creates the record if fan-out could not).
    fn.bindTable(ENV.deliveryLogTable, props.deliveryLogTable, ['dynamodb:UpdateItem']);
    // The handler calls ChangeMessageVisibility itself to make a job wait.
    fn.bindQueue(lane === 'fast' ? ENV.deliveryQueueUrl : ENV.retryQueueUrl, queue, 'consume');
    // A failed attempt, or a job that must wait, continues as a new message on the retry lane.
    fn.bindQueue(ENV.retryQueueUrl, this.retryQueue, 'send');
    // After the last attempt the handler parks the job itself, with the last error attached.
    fn.bindQueue(ENV.deliveryDlqUrl, this.deadLetterQueue, 'send');
    for (const [name, value] of Object.entries(props.settings)) fn.addEnvironment(name, value);
    // dns.lookup runs on libuv's thread pool (4 threads by default): a few endpoints with a dead
    // name server would stall every other job of the batch. Room for more than a batch at once.
    fn.addEnvironment('UV_THREADPOOL_SIZE', '64');

    fn.addEventSource(
      new lambdaEventSources.SqsEventSource(queue, {
        batchSize,
        maxConcurrency,
        // Without it one failed job would make the whole batch retry (and re-POST the others).
        reportBatchItemFailures: true,
        // No batching window: a webhook should leave as soon as its job is queued.
      }),
    );

    Validations.of(fn).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'The delivery function is only invoked synchronously by its SQS event source mapping, where a function DeadLetterConfig never applies; failed jobs reach the delivery DLQ through the queue redrive policy or the handler itself.',
      },
    );
    const mappings = fn.node.children.filter((c) => c instanceof lambda.EventSourceMapping);
    for (const mapping of mappings) {
      Validations.of(mapping).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: 'SQS event source mappings do not support on-failure destinations; the failure path is the lane queue redrive policy into the delivery DLQ (and the handler parking jobs itself, with the reason).',
      });
    }
    return fn;
  }
}
