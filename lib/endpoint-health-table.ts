import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { statushooksTable } from './table';

/**
 * The endpoint health table (docs/architecture.md §7): partition key `tenantId`, sort key
 * `subscriptionId`, one item per endpoint that ever failed (circuit, consecutive failures, last
 * success and failure). Two more kinds of items live in partitions of their own: rate-limit
 * counters (`rate#<tenant>#<subscription>`, one per second, expiring after 2 minutes) and the
 * operational events (`ops#<UTC day>`, kept 30 days), both removed by TTL on `expiresAt`.
 * Everything here is derived, short-lived state: deleting the stack deletes it.
 */
export class EndpointHealthTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = statushooksTable(this, 'Table', { partitionKey: 'tenantId', sortKey: 'subscriptionId', timeToLiveAttribute: 'expiresAt', removalPolicy: RemovalPolicy.DESTROY });
  }
}
