import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { statushooksTable } from './table';

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
    this.table = statushooksTable(this, 'Table', { partitionKey: 'tenantId', sortKey: 'subscriptionId', removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN });
  }
}
