import type { Context, EventBridgeEvent } from 'aws-lambda';
import { deliveryLogClient, documentClient, sqsClient } from '../adapters/aws-clients';
import { DynamoDeliveryLog } from '../adapters/delivery-log-store';
import { cacheTtlFromEnv, deliveryLogRetentionDaysFromEnv, requiredEnv } from '../adapters/env';
import { SqsJobQueue, SqsParkingLot } from '../adapters/job-queue';
import { observability } from '../adapters/observability';
import { DynamoSubscriptionStore } from '../adapters/subscription-store';
import { TtlCache } from '../core/cache';
import { DEFAULTS, ENV } from '../core/config';
import { fanOut, type FanOutResult, type SubscriptionLookup } from '../core/route-event';

// Built once per cold start and reused by every invocation of this instance.
const env = process.env;
const { logger, log, powertoolsMetrics, metrics } = observability('statushooks-fan-out');
const store = new DynamoSubscriptionStore(documentClient(), requiredEnv(env, ENV.subscriptionsTable));
const sqs = sqsClient();
const queue = new SqsJobQueue(sqs, requiredEnv(env, ENV.deliveryQueueUrl), { retries: DEFAULTS.sendBatchRetries });
const parking = new SqsParkingLot(sqs, requiredEnv(env, ENV.fanOutDlqUrl));
const cache = new TtlCache<SubscriptionLookup>(cacheTtlFromEnv(env));
const deliveryLog = new DynamoDeliveryLog(deliveryLogClient({ failFast: true }), requiredEnv(env, ENV.deliveryLogTable), deliveryLogRetentionDaysFromEnv(env));

export async function handler(event: EventBridgeEvent<string, unknown>, context?: Context): Promise<FanOutResult> {
  if (context) logger.addContext(context);
  try {
    return await fanOut(event, {
      subscriptionsOf: (tenantId) => cache.get(tenantId, () => store.listByTenant(tenantId)),
      enqueue: (jobs) => queue.enqueue(jobs),
      park: (record) => parking.parkEvent(record),
      deliveryLog,
      now: () => new Date(),
      log,
      metrics,
    });
  } finally {
    // Nothing counted: nothing to publish, and no warning about it.
    if (powertoolsMetrics.hasStoredMetrics()) powertoolsMetrics.publishStoredMetrics();
  }
}
