/**
 * The delivery function's handler, built from its adapters: an SQS batch in, each record through
 * `deliver` concurrently, a partial batch response out. `handler.ts` builds it from the AWS
 * adapters once per cold start; the hot-path bench (bench/hot-path.ts) builds the same handler
 * with in-memory stores around the real sender, logger and metrics.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { DynamoHealthStore } from '../adapters/health-store';
import type { HttpSender } from '../adapters/http-sender';
import type { SqsJobQueue, SqsParkingLot } from '../adapters/job-queue';
import type { Observability } from '../adapters/observability';
import type { OperationalEvents } from '../adapters/operational-events';
import type { DynamoSubscriptionStore } from '../adapters/subscription-store';
import type { EndpointHealth } from '../core/breaker';
import { TtlCache } from '../core/cache';
import { deliver, type DeliveryConfig } from '../core/delivery';
import type { DeliveryLogPort } from '../core/delivery-log';
import type { Subscription } from '../core/subscriptions';

export interface DeliveryAdapters {
  readonly store: Pick<DynamoSubscriptionStore, 'get' | 'disable'>;
  readonly health: Pick<DynamoHealthStore, 'get' | 'save' | 'acquireProbe' | 'markSlow' | 'takeToken' | 'markDisabled' | 'resetIfDisabledAt'>;
  readonly operational: Pick<OperationalEvents, 'publishOperational'>;
  readonly deliveryLog: DeliveryLogPort;
  readonly sender: Pick<HttpSender, 'send'>;
  /** The lane this function drains: retries wait on it (visibility). */
  readonly ownQueue: Pick<SqsJobQueue, 'changeVisibility'>;
  readonly retryLane: Pick<SqsJobQueue, 'sendJob'>;
  readonly parking: Pick<SqsParkingLot, 'parkJob'>;
  readonly observability: Observability;
  readonly subscriptionCacheTtlMs: number;
  readonly healthCacheTtlMs: number;
}

export type DeliveryHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createDeliveryHandler(a: DeliveryAdapters, config: DeliveryConfig): DeliveryHandler {
  const { logger, log, metrics, publish } = a.observability;
  // Shared by every record of every batch this instance handles.
  const subscriptions = new TtlCache<Subscription | undefined>(a.subscriptionCacheTtlMs);
  const healthCache = new TtlCache<EndpointHealth | undefined>(a.healthCacheTtlMs);
  const processor = new BatchProcessor(EventType.SQS);
  const key = (tenantId: string, subscriptionId: string) => `${tenantId}\n${subscriptionId}`;

  async function recordHandler(record: SQSRecord): Promise<void> {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    await deliver(record.body, receiveCount, {
      getSubscription: (tenantId, subscriptionId) => subscriptions.get(key(tenantId, subscriptionId), () => a.store.get(tenantId, subscriptionId)),
      disableSubscription: async (tenantId, subscriptionId, reason, url) => {
        subscriptions.delete(key(tenantId, subscriptionId));
        return a.store.disable(tenantId, subscriptionId, reason, new Date(), url);
      },
      endpointHealth: (tenantId, subscriptionId) => healthCache.get(key(tenantId, subscriptionId), () => a.health.get(tenantId, subscriptionId)),
      saveHealth: async (tenantId, subscriptionId, result, nowMs) => {
        const saved = await a.health.save(tenantId, subscriptionId, result, nowMs);
        // Nothing written: the cached copy (or the next read) stays the truth, not this caller's view of it.
        if (result.write !== 'none') healthCache.set(key(tenantId, subscriptionId), saved.health);
        return saved;
      },
      acquireProbe: async (tenantId, subscriptionId, nowMs, leaseMs) => {
        healthCache.delete(key(tenantId, subscriptionId));
        return a.health.acquireProbe(tenantId, subscriptionId, nowMs, leaseMs);
      },
      markSlow: async (tenantId, subscriptionId, untilMs) => {
        await a.health.markSlow(tenantId, subscriptionId, untilMs);
        healthCache.delete(key(tenantId, subscriptionId));
      },
      takeToken: (tenantId, subscriptionId, max, nowMs) => a.health.takeToken(tenantId, subscriptionId, max, nowMs),
      markDisabled: async (tenantId, subscriptionId, at) => {
        await a.health.markDisabled(tenantId, subscriptionId, at);
        healthCache.delete(key(tenantId, subscriptionId));
      },
      resetHealth: async (tenantId, subscriptionId, disabledAt) => {
        await a.health.resetIfDisabledAt(tenantId, subscriptionId, disabledAt);
        healthCache.delete(key(tenantId, subscriptionId));
      },
      publishOperational: (event) => a.operational.publishOperational(event),
      deliveryLog: a.deliveryLog,
      send: (request) => a.sender.send(request),
      retryLater: (delaySeconds) => a.ownQueue.changeVisibility(record.receiptHandle, delaySeconds),
      toRetryLane: (job, delaySeconds) => a.retryLane.sendJob(job, delaySeconds),
      park: (body, reason, attempts) => a.parking.parkJob(body, reason, attempts, new Date()),
      now: () => new Date(),
      rng: Math.random,
      log,
      metrics,
    }, config);
  }

  return async (event, context) => {
    logger.addContext(context);
    try {
      // Records are processed concurrently; a record handler that throws marks only its record failed.
      // Even when every record fails the answer is a partial response, not an error: each failed
      // job already carries its own retry delay (visibility), which a thrown error would not change.
      return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      // Also when a record handler threw: its counts are written with this invocation's. Nothing
      // counted (e.g. an invocation that only moved jobs between lanes): nothing written, no warning.
      publish();
    }
  };
}
