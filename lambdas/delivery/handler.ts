import { deliveryLogClient, documentClient, eventBridgeClient, sqsClient } from '../adapters/aws-clients';
import { DeliveryLogWriter } from '../adapters/delivery-log-writer';
import {
  breakerPolicyFromEnv,
  cacheTtlFromEnv,
  deliveryLogModeFromEnv,
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
import { DEFAULTS, ENV } from '../core/config';
import type { DeliveryConfig } from '../core/delivery';
import { deadlineSpanMs } from '../core/retry';
import { createDeliveryHandler } from './app';

// Built once per cold start: clients, kept-alive HTTP agents and the caches are shared by every
// record of every batch this instance handles. The same bundle drains both lanes (DELIVERY_LANE).
const env = process.env;
const { lane, timeoutMs, connectTimeoutMs } = laneFromEnv(env);
const obs = observability(lane === 'fast' ? 'statushooks-delivery' : 'statushooks-retry');
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
const retry = retryPolicyFromEnv(env);
const deliveryLog = new DeliveryLogWriter(deliveryLogClient(), requiredEnv(env, ENV.deliveryLogTable), deliveryLogRetentionDaysFromEnv(env));
const config: DeliveryConfig = {
  lane,
  retry,
  breaker,
  endpoints,
  userAgent: userAgentFromEnv(env),
  deliveryLog: deliveryLogModeFromEnv(env),
  // The bound covers the retry lane's full request timeout per attempt.
  deadlineSpanMs: deadlineSpanMs(retry, Math.max(timeoutMs, Number(env[ENV.httpTimeoutMs]) || DEFAULTS.httpTimeoutMs), breaker.probeIntervalMs),
};
export const handler = createDeliveryHandler(
  {
    store,
    health,
    operational,
    deliveryLog,
    sender,
    ownQueue,
    retryLane,
    parking,
    observability: obs,
    subscriptionCacheTtlMs: cacheTtlFromEnv(env),
    healthCacheTtlMs: healthCacheTtlFromEnv(env),
  },
  config,
);
