import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { deliveryLogClient, documentClient, eventBridgeClient, sqsClient } from '../adapters/aws-clients';
import { DynamoDeliveryLog } from '../adapters/delivery-log-store';
import {
  breakerPolicyFromEnv,
  cacheTtlFromEnv,
  deliveryLogRetentionDaysFromEnv,
  endpointPolicyFromEnv,
  healthCacheTtlFromEnv,
  laneFromEnv,
  requiredEnv,
  retryPolicyFromEnv,
  userAgentFromEnv,
} from '../adapters/env';
import { DynamoHealthStore } from '../adapters/health-store';
import { HttpSender } from '../adapters/http-sender';
import { SqsJobQueue, SqsParkingLot } from '../adapters/job-queue';
import { observability } from '../adapters/observability';
import { OperationalEvents } from '../adapters/operational-events';
import { DynamoSubscriptionStore } from '../adapters/subscription-store';
import type { EndpointHealth } from '../core/breaker';
import { TtlCache } from '../core/cache';
import { DEFAULTS, ENV } from '../core/config';
import { deliver, type DeliveryConfig } from '../core/delivery';
import { deadlineSpanMs } from '../core/retry';
import type { Subscription } from '../core/subscriptions';

// Built once per cold start: clients, kept-alive HTTP agents and the caches are shared by every
// record of every batch this instance handles. The same bundle drains both lanes (DELIVERY_LANE).
const env = process.env;
const { lane, timeoutMs, connectTimeoutMs } = laneFromEnv(env);
const { logger, log, powertoolsMetrics, metrics } = observability(lane === 'fast' ? 'statushooks-delivery' : 'statushooks-retry');
const db = documentClient();
const store = new DynamoSubscriptionStore(db, requiredEnv(env, ENV.subscriptionsTable));
const breaker = breakerPolicyFromEnv(env);
const health = new DynamoHealthStore(db, requiredEnv(env, ENV.healthTable), breaker);
const operational = new OperationalEvents(db, health.tableName, { client: eventBridgeClient(), name: requiredEnv(env, ENV.eventBusName) });
const sqs = sqsClient();
const ownQueue = new SqsJobQueue(sqs, requiredEnv(env, lane === 'fast' ? ENV.deliveryQueueUrl : ENV.retryQueueUrl), { retries: DEFAULTS.sendBatchRetries });
const retryLane = new SqsJobQueue(sqs, requiredEnv(env, ENV.retryQueueUrl), { retries: DEFAULTS.sendBatchRetries });
const parking = new SqsParkingLot(sqs, requiredEnv(env, ENV.deliveryDlqUrl));
const endpoints = endpointPolicyFromEnv(env);
const sender = new HttpSender({ policy: endpoints, timeoutMs, connectTimeoutMs });
const subscriptions = new TtlCache<Subscription | undefined>(cacheTtlFromEnv(env));
const healthCache = new TtlCache<EndpointHealth | undefined>(healthCacheTtlFromEnv(env));
const retry = retryPolicyFromEnv(env);
const deliveryLog = new DynamoDeliveryLog(deliveryLogClient(), requiredEnv(env, ENV.deliveryLogTable), deliveryLogRetentionDaysFromEnv(env));
const config: DeliveryConfig = {
  lane,
  retry,
  breaker,
  endpoints,
  userAgent: userAgentFromEnv(env),
  // The bound covers the retry lane's full request timeout per attempt.
  deadlineSpanMs: deadlineSpanMs(retry, Math.max(timeoutMs, Number(env[ENV.httpTimeoutMs]) || DEFAULTS.httpTimeoutMs), breaker.probeIntervalMs),
};
const processor = new BatchProcessor(EventType.SQS);
const key = (tenantId: string, subscriptionId: string) => `${tenantId}\n${subscriptionId}`;

async function recordHandler(record: SQSRecord): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  await deliver(record.body, receiveCount, {
    getSubscription: (tenantId, subscriptionId) => subscriptions.get(key(tenantId, subscriptionId), () => store.get(tenantId, subscriptionId)),
    disableSubscription: async (tenantId, subscriptionId, reason) => {
      subscriptions.delete(key(tenantId, subscriptionId));
      await store.disable(tenantId, subscriptionId, reason, new Date());
    },
    endpointHealth: (tenantId, subscriptionId) => healthCache.get(key(tenantId, subscriptionId), () => health.get(tenantId, subscriptionId)),
    saveHealth: async (tenantId, subscriptionId, result, nowMs) => {
      const saved = await health.save(tenantId, subscriptionId, result, nowMs);
      // Nothing written: the cached copy (or the next read) stays the truth, not this caller's view of it.
      if (result.write !== 'none') healthCache.set(key(tenantId, subscriptionId), saved.health);
      return saved;
    },
    acquireProbe: async (tenantId, subscriptionId, nowMs, leaseMs) => {
      healthCache.delete(key(tenantId, subscriptionId));
      return health.acquireProbe(tenantId, subscriptionId, nowMs, leaseMs);
    },
    markSlow: async (tenantId, subscriptionId, untilMs) => {
      await health.markSlow(tenantId, subscriptionId, untilMs);
      healthCache.delete(key(tenantId, subscriptionId));
    },
    takeToken: (tenantId, subscriptionId, max, nowMs) => health.takeToken(tenantId, subscriptionId, max, nowMs),
    publishOperational: (event) => operational.publishOperational(event),
    deliveryLog,
    send: (request) => sender.send(request),
    retryLater: (delaySeconds) => ownQueue.changeVisibility(record.receiptHandle, delaySeconds),
    toRetryLane: (job, delaySeconds) => retryLane.sendJob(job, delaySeconds),
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
    // Nothing counted (e.g. an invocation that only moved jobs between lanes): nothing to publish, and no warning.
    if (powertoolsMetrics.hasStoredMetrics()) powertoolsMetrics.publishStoredMetrics();
  }
}
