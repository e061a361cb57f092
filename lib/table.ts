import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

export interface StatusHooksTableProps {
  /** Partition and sort key names (strings). */
  readonly partitionKey: string;
  readonly sortKey: string;
  /** The epoch-seconds attribute DynamoDB's TTL deletes items by; none: items stay. */
  readonly timeToLiveAttribute?: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A table as every statushooks table is: on demand (traffic follows the platform's status
 * changes: spiky and unpredictable), point-in-time recovery, encrypted at rest with the AWS managed
 * key `aws/dynamodb` (the key policy lets DynamoDB use it for the account's principals: no grant).
 *
 * A table retained when the stack is deleted holds data that must outlive it (subscriptions and
 * their secrets, the delivery log), so it also gets DynamoDB deletion protection: a DeleteTable from
 * the console, the CLI or another stack fails until someone turns it off on purpose. A table the
 * stack deletes (derived state) must not have it, or `cdk destroy` would fail on it.
 */
export function statushooksTable(scope: Construct, id: string, props: StatusHooksTableProps): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: props.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: props.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: props.timeToLiveAttribute,
    removalPolicy: props.removalPolicy,
    deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
  });
}
