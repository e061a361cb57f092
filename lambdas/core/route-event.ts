import { writeLog, type DeliveryFacts, type DeliveryLogMode, type DeliveryLogPort, type DeliveryState } from './delivery-log';
import { errorMessage, InvalidEventError } from './errors';
import { buildPayload, parseBusEvent, type StatusChange } from './events';
import { buildJob, type DeliveryJob, type RejectedEventRecord } from './job';
import { METRIC, type Log, type Metrics } from './ports';
import { matches, whyNot, type Subscription } from './subscriptions';
import { truncateText } from './text';

export interface FanOutPorts {
  /** Every subscription of a tenant, valid or not (invalid items are reported and skipped). */
  subscriptionsOf(tenantId: string): Promise<SubscriptionLookup>;
  /** Queues the jobs; resolves only when every job was accepted, else throws. */
  enqueue(jobs: readonly DeliveryJob[]): Promise<void>;
  /** Parks a rejected event where operators see it (the fan-out DLQ). */
  park(record: RejectedEventRecord): Promise<void>;
  /** The delivery log (one `pending` record per queued job); a failure to write it is counted, never thrown. */
  deliveryLog?: DeliveryLogPort;
  /** What the log records (default `all`); with `failures` only an operator's replay or redrive is written here. */
  deliveryLogMode?: DeliveryLogMode;
  /**
   * An operator's redrive (`dlq redrive --queue fan-out`): like a replay, its deliveries may have
   * records already, and they are recorded whatever the log mode.
   */
  operatorRedrive?: boolean;
  /** The stack's `sources` setting: an event of another source is refused and parked (§1). Unset: not checked. */
  sources?: readonly string[];
  /** A replay that names a subscription (`events replay --subscription`): only it gets a job. */
  onlySubscription?: string;
  now(): Date;
  log: Log;
  metrics: Metrics;
}

export interface SubscriptionLookup {
  readonly subscriptions: readonly Subscription[];
  readonly invalid: readonly InvalidSubscription[];
}

export interface InvalidSubscription {
  readonly subscriptionId: string;
  readonly reason: string;
}

export type FanOutResult =
  | { readonly status: 'rejected'; readonly reason: string }
  | {
      readonly status: 'queued';
      readonly eventId: string;
      /** The deliveries queued. */
      readonly deliveryIds: readonly string[];
      /** Deliveries of an earlier fan-out of this event, found in the log past `pending` (delivered, retrying, parked, …): not queued again. */
      readonly underWay?: readonly string[];
      /** Subscription items of the tenant that could not be read and were skipped (also logged and counted). */
      readonly invalidSubscriptions: readonly InvalidSubscription[];
    };

/**
 * Turns one bus event into one delivery job per matching active subscription.
 * An invalid event is parked with its reason and acknowledged (retrying cannot fix it);
 * a failure to read subscriptions or queue jobs throws, so Lambda retries the whole event —
 * delivery ids are deterministic, so a repeated fan-out yields the same `webhook-id`s.
 */
export async function fanOut(input: unknown, ports: FanOutPorts): Promise<FanOutResult> {
  let change;
  try {
    change = parseBusEvent(input, ports.sources);
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    const eventId = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
    ports.log.warn('event rejected', { eventId, reason: error.message });
    await ports.park({ kind: 'rejected-event', reason: error.message, rejectedAt: ports.now().toISOString(), event: input });
    ports.metrics.count(METRIC.eventsRejected);
    return { status: 'rejected', reason: error.message };
  }
  ports.metrics.count(METRIC.eventsReceived);
  const context = { eventId: change.eventId, event: change.event, tenantId: change.tenantId };

  const lookup = await ports.subscriptionsOf(change.tenantId);
  for (const bad of lookup.invalid) {
    ports.log.error('subscription item is invalid and was skipped', { ...context, subscriptionId: bad.subscriptionId, reason: bad.reason });
    ports.metrics.count(METRIC.invalidSubscriptions);
  }
  const invalidSubscriptions = lookup.invalid.map(({ subscriptionId, reason }) => ({ subscriptionId, reason }));
  const candidates = ports.onlySubscription === undefined ? lookup.subscriptions : lookup.subscriptions.filter((s) => s.subscriptionId === ports.onlySubscription);
  const targets = candidates.filter((s) => matches(s, change));
  if (targets.length === 0) {
    if (candidates.length === 0) ports.log.debug('no matching subscriptions', { ...context, ...(ports.onlySubscription !== undefined ? { onlySubscription: ports.onlySubscription } : {}) });
    // The tenant has subscriptions and none takes this event: support's "we never got it". One
    // line per such event (never per delivery), with each subscription's reason and the entity.
    else ports.log.info('no matching subscriptions', { ...context, ...notTakenBy(candidates, change) });
    return { status: 'queued', eventId: change.eventId, deliveryIds: [], invalidSubscriptions };
  }
  const body = buildPayload(change);
  const queuedAt = ports.now();
  // A replayed event (EventBridge marks it with `replay-name`) continues its deliveries' records.
  const replayName = (input as { 'replay-name'?: unknown })['replay-name'];
  const replay = typeof replayName === 'string' ? replayName : undefined;
  const replayed = replay !== undefined;
  // With `deliveryLog` = `failures` only an operator's replay or redrive is written when queued (its
  // deliveries may have records to continue, and their outcomes are wanted). Jobs whose record is
  // written here say so: every outcome of theirs is written, whatever mode the delivery function
  // runs in (also across a deploy that switches the mode).
  const operatorAct = replayed || ports.operatorRedrive === true;
  const log = ports.deliveryLog;
  const logQueued = log !== undefined && (ports.deliveryLogMode !== 'failures' || operatorAct);
  const jobs = targets.map((s) => {
    const job = buildJob(change, s.subscriptionId, body, queuedAt);
    return logQueued ? { ...job, recorded: true } : job;
  });
  // Deliveries an earlier fan-out of this same event already set going (found in the log): not
  // queued again on an automatic repeat (a Lambda retry after a partly failed fan-out, a duplicate
  // invocation). An operator's replay or redrive queues every delivery again; a replay's records
  // carry its name, so a Lambda retry or duplicate of that same replay's event is an automatic
  // repeat of it: it leaves what this replay already set going, like any other repeat.
  let underWay: ReadonlyMap<string, DeliveryState> = new Map();
  if (logQueued) {
    // Written before the jobs are queued, so a delivery's own writes always come after its
    // `pending` record. Batched for all the event's jobs; existing records are continued, never replaced.
    const facts: DeliveryFacts[] = jobs.map((job) => ({
      tenantId: job.tenantId,
      deliveryId: job.deliveryId,
      subscriptionId: job.subscriptionId,
      event: job.event,
      eventId: job.eventId,
      entityUuid: change.entity.uuid,
      entityNumber: change.entity.number,
      body,
      occurredAt: job.occurredAt,
    }));
    const leave =
      ports.operatorRedrive === true
        ? undefined
        : replay !== undefined
          ? (state: DeliveryState, queuedBy?: string) => queuedBy === replay && state !== 'pending'
          : (state: DeliveryState) => state !== 'pending';
    // An operator's act is noted on the records it queues again (a Lambda retry of the original is not one).
    const requeuedBy = ports.operatorRedrive === true ? 'fan-out redrive' : replay !== undefined ? `replay ${replay}` : undefined;
    const options = { leave, ...(replay !== undefined && ports.operatorRedrive !== true ? { queuedBy: replay } : {}), ...(requeuedBy !== undefined ? { requeuedBy } : {}) };
    await writeLog('queued', async () => void (underWay = await log.logQueued(facts, queuedAt.toISOString(), options)), ports, { ...context, deliveries: jobs.length });
  }
  const queue = underWay.size === 0 ? jobs : jobs.filter((job) => !underWay.has(job.deliveryId));
  if (underWay.size > 0) {
    ports.log.info('event fanned out before: deliveries already under way are not queued again', { ...context, deliveries: queue.length, underWay: Object.fromEntries(underWay) });
  }
  try {
    if (queue.length > 0) await ports.enqueue(queue);
  } catch (error) {
    ports.log.error('queueing delivery jobs failed; the event will be retried', { ...context, reason: errorMessage(error) });
    throw error;
  }
  ports.metrics.count(METRIC.deliveriesQueued, queue.length);
  ports.log.debug('delivery jobs queued', { ...context, deliveries: queue.length });
  return { status: 'queued', eventId: change.eventId, deliveryIds: queue.map((j) => j.deliveryId), ...(underWay.size > 0 ? { underWay: [...underWay.keys()] } : {}), invalidSubscriptions };
}

/** At most this many subscriptions are named in a "no matching subscriptions" line (the rest are counted). */
const MAX_NAMED_SKIPS = 20;

/** Why none of a tenant's subscriptions takes an event, for its log line. */
function notTakenBy(subscriptions: readonly Subscription[], change: StatusChange): Record<string, unknown> {
  const skipped = subscriptions.slice(0, MAX_NAMED_SKIPS).map((s) => ({ subscriptionId: s.subscriptionId, reason: truncateText(whyNot(s, change) ?? '', 200) }));
  const more = subscriptions.length - skipped.length;
  return { entityUuid: change.entity.uuid, entityNumber: change.entity.number, newStatus: change.newStatus, skipped, ...(more > 0 ? { skippedNotNamed: more } : {}) };
}
