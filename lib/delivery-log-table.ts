import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { statushooksTable } from './table';
import { DELIVERY_LOG_INDEX, DELIVERY_LOG_INDEX_KEYS, DELIVERY_LOG_PROJECTED } from '../lambdas/adapters/delivery-log-writer';

/**
 * The delivery log (docs/architecture.md §8): partition key `tenantId`, sort key `deliveryId`, one
 * record per delivery with its body and every attempt; three indexes for the listings (by tenant,
 * by entity, by problem state), each keyed `listKey` (createdAt#deliveryId) so they read newest
 * first. Records expire by TTL on `expiresAt` (setting `deliveryLogRetentionDays`).
 *
 * Retained when the stack is deleted: it is the record support answers customers from.
 */
export class DeliveryLogTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = statushooksTable(this, 'Table', { partitionKey: 'tenantId', sortKey: 'deliveryId', timeToLiveAttribute: 'expiresAt', removalPolicy: RemovalPolicy.RETAIN });
    for (const name of Object.values(DELIVERY_LOG_INDEX)) {
      const keys = DELIVERY_LOG_INDEX_KEYS[name];
      this.table.addGlobalSecondaryIndex({
        indexName: name,
        partitionKey: { name: keys.partition, type: dynamodb.AttributeType.STRING },
        sortKey: { name: keys.sort, type: dynamodb.AttributeType.STRING },
        // Keys plus attributes that never change: an update that keeps the index key writes the table only.
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...DELIVERY_LOG_PROJECTED],
      });
    }
  }
}
