import type { Context, EventBridgeEvent } from 'aws-lambda';
import { deliveryLogClient, documentClient, eventBridgeClient, sqsClient } from '../adapters/aws-clients';
import { DeliveryLogWriter } from '../adapters/delivery-log-writer';
import { ReplayFilters } from '../adapters/replay-filters';
import { replayNameOf, replayScope } from '../core/replay';
import { cacheTtlFromEnv, deliveryLogModeFromEnv, deliveryLogRetentionDaysFromEnv, requiredEnv, sourcesFromEnv } from '../adapters/env';
import { SqsJobQueue, SqsParkingLot } from '../adapters/job-queue';
import { observability } from '../adapters/observability';
import { DynamoSubscriptionStore } from '../adapters/subscription-store';
import { TtlCache } from '../core/cache';
import { DEFAULTS, ENV } from '../core/config';
import { errorMessage } from '../core/errors';
import { fanOut, type FanOutResult, type SubscriptionLookup } from '../core/route-event';
import { failureRecordRefusal } from '../core/sqs-text';

// Built once per cold start and reused by every invocation of this instance.
const env = process.env;
const { logger, log, metrics, publish } = observability('statushooks-fan-out');
const store = new DynamoSubscriptionStore(documentClient(), requiredEnv(env, ENV.subscriptionsTable));
const sqs = sqsClient();
const queue = new SqsJobQueue(sqs, requiredEnv(env, ENV.deliveryQueueUrl), { retries: DEFAULTS.sendBatchRetries });
const parking = new SqsParkingLot(sqs, requiredEnv(env, ENV.fanOutDlqUrl));
const cache = new TtlCache<SubscriptionLookup>(cacheTtlFromEnv(env));
const replays = new ReplayFilters(eventBridgeClient());
const deliveryLog = new DeliveryLogWriter(deliveryLogClient({ failFast: true }), requiredEnv(env, ENV.deliveryLogTable), deliveryLogRetentionDaysFromEnv(env));
const deliveryLogMode = deliveryLogModeFromEnv(env);
const sources = sourcesFromEnv(env);

/** What the handler did with an event: fan-out's result, skipped as outside its replay's filter, or parked. */
export type FanOutHandlerResult = FanOutResult | { readonly status: 'skipped'; readonly reason: string } | Parked;

export async function handler(event: EventBridgeEvent<string, unknown>, context?: Context): Promise<FanOutHandlerResult> {
  if (context) logger.addContext(context);
  try {
    // A replayed event outside the tenant or event type its replay asked for (statushooks events
    // replay) is skipped; one whose replay names a subscription goes to that one only.
    const scope = await replayScope(event, (replayName) => replays.filterOf(replayName));
    if (scope.outside !== undefined) {
      log.debug('replayed event outside its replay filter: skipped', { eventId: event.id, replayName: replayNameOf(event) });
      return { status: 'skipped', reason: scope.outside };
    }
    return await fanOut(event, {
      ...(scope.onlySubscription !== undefined ? { onlySubscription: scope.onlySubscription } : {}),
      subscriptionsOf: (tenantId) => cache.get(tenantId, () => store.listByTenant(tenantId)),
      enqueue: (jobs) => queue.enqueue(jobs),
      park: (record) => parking.parkEvent(record),
      deliveryLog,
      deliveryLogMode,
      sources,
      now: () => new Date(),
      log,
      metrics,
    });
  } catch (error) {
    return await parkIfUncarriable(event, error);
  } finally {
    // The counts summed in this invocation, then the stored metrics; nothing counted: nothing written, no warning.
    publish();
  }
}

/** What parkIfUncarriable did: parked the event itself. */
type Parked = { readonly status: 'parked'; readonly reason: string };

/**
 * A failed event goes back to Lambda, which retries it twice and then puts its failure record in
 * the fan-out DLQ. An event that record could not carry (U+FFFF in a field fan-out ignores, or
 * near 256 KB) would be dropped by Lambda at that point: fan-out parks it itself, escaped as every
 * record it writes (job-queue.ts parkEvent), with the error as its reason, and does not retry it.
 * If parking fails too (SQS unreachable), the error goes back to Lambda as for any event.
 */
async function parkIfUncarriable(event: EventBridgeEvent<string, unknown>, error: unknown): Promise<Parked> {
  const refusal = failureRecordRefusal(event);
  if (refusal === null) throw error;
  const reason = `fan-out failed: ${errorMessage(error)}; parked at once, not retried: ${refusal}`;
  try {
    await parking.parkEvent({ kind: 'failed-event', reason, rejectedAt: new Date().toISOString(), event });
  } catch (parkError) {
    log.error('fan-out failed, and the event could not be parked either; Lambda retries it, but its failure record would not reach the fan-out DLQ', { eventId: event.id, reason, parkError: errorMessage(parkError) });
    throw error;
  }
  log.error('fan-out failed; the event was parked in the fan-out DLQ (not retried)', { eventId: event.id, reason });
  return { status: 'parked', reason };
}
