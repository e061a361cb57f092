import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import { INFRA_DEFAULTS } from './defaults';
import { StatusHooksFunction } from './function';
import { StatusHooksQueue } from './queue';

/** Everything here is required: the stack resolves defaults and validates before passing them. */
export interface DeliveryProps {
  readonly table: dynamodb.ITable;
  /** Attempts per job; also the queue's redrive `maxReceiveCount` (attempt number = receive count). */
  readonly maxAttempts: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  /** The function's settings as environment variables (`settingsEnvironment(settings, 'delivery')`). */
  readonly settings: Readonly<Record<string, string>>;
}

/**
 * The delivery queue, its dead-letter queue and the delivery function that drains it through an
 * SQS event source mapping. A failed attempt is retried by the function setting the job's
 * visibility to the scheduled delay and reporting it as a batch item failure; the queue's redrive
 * policy (maxReceiveCount = maxAttempts) is the backstop that parks a job in the DLQ.
 */
export class Delivery extends Construct {
  readonly queue: StatusHooksQueue;
  readonly deadLetterQueue: StatusHooksQueue;
  readonly function: StatusHooksFunction;

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
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxAttempts },
    });

    this.function = new StatusHooksFunction(this, 'Function', {
      entry: 'lambdas/delivery/handler.ts',
      serviceName: 'statushooks-delivery',
      description: 'statushooks: delivery job → signed webhook POST, retried with backoff',
      timeout: functionTimeout,
    });
    const fn = this.function;
    // Reads the subscription (secret, state) and disables it on 410 Gone: nothing else.
    fn.bindTable(ENV.subscriptionsTable, props.table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // The handler calls ChangeMessageVisibility itself to schedule a retry.
    fn.bindQueue(ENV.deliveryQueueUrl, this.queue, 'consume');
    // After the last attempt the handler parks the job itself, with the last error attached.
    fn.bindQueue(ENV.deliveryDlqUrl, this.deadLetterQueue, 'send');
    for (const [name, value] of Object.entries(props.settings)) fn.addEnvironment(name, value);
    // dns.lookup runs on libuv's thread pool (4 threads by default): a few endpoints with a dead
    // name server would stall every other job of the batch. Room for more than a batch at once.
    fn.addEnvironment('UV_THREADPOOL_SIZE', '64');

    fn.addEventSource(
      new lambdaEventSources.SqsEventSource(this.queue, {
        batchSize: props.batchSize,
        maxConcurrency: props.maxConcurrency,
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
        reason: 'SQS event source mappings do not support on-failure destinations; the failure path is the delivery queue redrive policy (maxReceiveCount = maxAttempts) into the delivery DLQ.',
      });
    }
  }
}
