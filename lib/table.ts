import type { RemovalPolicy } from 'aws-cdk-lib';
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
 * changes: spiky and unpredictable), point-in-time recovery, encrypted with the AWS-managed key.
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
  });
}
