import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface SubscriptionsTableProps {
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN — subscriptions (and their secrets) are customer data
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The subscriptions table (operator contract, docs/architecture.md §3): partition key `tenantId`,
 * sort key `subscriptionId`. Fan-out queries one tenant's partition; delivery reads and updates
 * one item. No indexes, so grants on the table ARN are the whole story.
 */
export class SubscriptionsTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: SubscriptionsTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'tenantId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'subscriptionId', type: dynamodb.AttributeType.STRING },
      // Traffic follows status changes of the platform: spiky and unpredictable.
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
