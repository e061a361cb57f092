import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { documentClient, sqsClient } from '../adapters/aws-clients';
import { cacheTtlFromEnv, endpointPolicyFromEnv, httpTimeoutsFromEnv, requiredEnv, retryPolicyFromEnv, userAgentFromEnv } from '../adapters/env';
import { HttpSender } from '../adapters/http-sender';
import { SqsJobQueue, SqsParkingLot } from '../adapters/job-queue';
import { observability } from '../adapters/observability';
import { DynamoSubscriptionStore } from '../adapters/subscription-store';
import { TtlCache } from '../core/cache';
import { DEFAULTS, ENV } from '../core/config';
import { deliver, type DeliveryConfig } from '../core/delivery';
import type { Subscription } from '../core/subscriptions';

// Built once per cold start: clients, kept-alive HTTP agents and the subscription cache are
// shared by every record of every batch this instance handles.
const env = process.env;
const { logger, log, powertoolsMetrics, metrics } = observability('statushooks-delivery');
const store = new DynamoSubscriptionStore(documentClient(), requiredEnv(env, ENV.subscriptionsTable));
const sqs = sqsClient();
const queue = new SqsJobQueue(sqs, requiredEnv(env, ENV.deliveryQueueUrl), { retries: DEFAULTS.sendBatchRetries });
const parking = new SqsParkingLot(sqs, requiredEnv(env, ENV.deliveryDlqUrl));
const endpoints = endpointPolicyFromEnv(env);
const sender = new HttpSender({ policy: endpoints, ...httpTimeoutsFromEnv(env) });
const cache = new TtlCache<Subscription | undefined>(cacheTtlFromEnv(env));
const config: DeliveryConfig = { retry: retryPolicyFromEnv(env), endpoints, userAgent: userAgentFromEnv(env) };
const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
  await deliver(record.body, attempt, {
    getSubscription: (tenantId, subscriptionId) => cache.get(`${tenantId}\n${subscriptionId}`, () => store.get(tenantId, subscriptionId)),
    disableSubscription: async (tenantId, subscriptionId, reason) => {
      cache.delete(`${tenantId}\n${subscriptionId}`);
      await store.disable(tenantId, subscriptionId, reason, new Date());
    },
    send: (request) => sender.send(request),
    retryLater: (delaySeconds) => queue.changeVisibility(record.receiptHandle, delaySeconds),
    park: (body, reason, attempts) => parking.parkJob(body, reason, attempts, new Date()),
    now: () => new Date(),
    rng: Math.random,
    log,
    metrics,
  }, config);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    // Records are processed concurrently; a record handler that throws marks only its record failed.
    // Even when every record fails the answer is a partial response, not an error: each failed
    // job already carries its own retry delay (visibility), which a thrown error would not change.
    return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
  } finally {
    powertoolsMetrics.publishStoredMetrics();
  }
}
