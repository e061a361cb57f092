import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import { REPLAY_NAME_PREFIX } from '../lambdas/core/replay';
import { INFRA_DEFAULTS } from './defaults';
import { StatusHooksFunction, type FunctionObservability } from './function';
import { StatusHooksQueue } from './queue';

export interface FanOutProps {
  /** Subscriptions are read (queried per tenant) from here. */
  readonly table: dynamodb.ITable;
  /** The delivery log: one `pending` record per queued job, batched. */
  readonly deliveryLogTable: dynamodb.ITable;
  /** Delivery jobs are sent here. */
  readonly deliveryQueue: sqs.IQueue;
  /** The function's settings as environment variables (`settingsEnvironment(settings, 'fan-out')`). */
  readonly settings: Readonly<Record<string, string>>;
  readonly observability: FunctionObservability;
}

/**
 * The fan-out function, invoked asynchronously by the bus rule: validates the event, finds the
 * tenant's matching active subscriptions and sends one delivery job per subscription.
 *
 * Its dead-letter queue collects everything that could not be fanned out: events the function
 * parks itself (invalid events are never retried), events Lambda gave up on after its async
 * retries, and events EventBridge could not hand to Lambda at all.
 */
export class FanOut extends Construct {
  readonly function: StatusHooksFunction;
  readonly deadLetterQueue: StatusHooksQueue;

  constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);

    // Parked events are data an operator still has to act on: keep them if the stack is deleted.
    this.deadLetterQueue = new StatusHooksQueue(this, 'DeadLetterQueue', { removalPolicy: RemovalPolicy.RETAIN });
    // Nothing reads this queue except operators, so a redrive target would only move the problem.
    Validations.of(this.deadLetterQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This is the fan-out dead-letter queue itself: the terminal parking place of events that could not be fanned out (rule target DLQ, Lambda on-failure destination, invalid events). A DLQ of a DLQ adds nothing.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This is the fan-out dead-letter queue itself, the terminal parking place; it has no consumer that could fail and need a redrive policy.',
      },
    );

    this.function = new StatusHooksFunction(this, 'Function', {
      entry: 'lambdas/fan-out/handler.ts',
      serviceName: 'statushooks-fan-out',
      description: 'statushooks: status-change event → one delivery job per matching subscription',
      timeout: Duration.seconds(INFRA_DEFAULTS.fanOutFunctionTimeoutSeconds),
      observability: props.observability,
    });
    const fn = this.function;
    // Fan-out only ever queries one tenant's partition.
    fn.bindTable(ENV.subscriptionsTable, props.table, ['dynamodb:Query']);
    fn.bindQueue(ENV.deliveryQueueUrl, props.deliveryQueue, 'send');
    // Pending records of the queued jobs: one BatchGetItem finds the records an earlier fan-out of
    // the event left, new ones are put 25 to a call, existing ones updated (their attempts stay).
    fn.bindTable(ENV.deliveryLogTable, props.deliveryLogTable, ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']);
    // The handler parks invalid events here itself (docs/architecture.md §1: never retried, never dropped).
    fn.bindQueue(ENV.fanOutDlqUrl, this.deadLetterQueue, 'send');
    for (const [name, value] of Object.entries(props.settings)) fn.addEnvironment(name, value);
    // A statushooks replay carries its tenant/event filter in its description: fan-out reads it
    // (once per replay) to skip the replayed events outside it. Replay names are chosen at run time.
    const replays = Stack.of(this).formatArn({ service: 'events', resource: 'replay', resourceName: `${REPLAY_NAME_PREFIX}*` });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['events:DescribeReplay'], resources: [replays] }));
    Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:replay/${REPLAY_NAME_PREFIX}*]`,
      reason: 'events:DescribeReplay on the replays statushooks starts (named statushooks-<time>-<random> at run time): fan-out reads a replay\'s filter from its description. Read-only, no other replay.',
    });

    // A thrown fan-out (e.g. DynamoDB or SQS unavailable) is worth a couple of retries; after that
    // the event lands in the DLQ with the error context of the on-failure record.
    fn.configureAsyncInvoke({
      retryAttempts: INFRA_DEFAULTS.fanOutAsyncRetryAttempts,
      maxEventAge: Duration.hours(INFRA_DEFAULTS.fanOutAsyncMaxEventAgeHours),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    Validations.of(fn).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'Failed async invocations go to the fan-out DLQ through an on-failure destination (EventInvokeConfig), which records the error context; a legacy DeadLetterConfig on the same queue would park every failure twice.',
      },
    );
  }
}
