import { DeleteMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SqsJobQueue } from '../lambdas/adapters/job-queue';
import { ReplayFilters } from '../lambdas/adapters/replay-filters';
import { DynamoSubscriptionStore } from '../lambdas/adapters/subscription-store';
import { DEFAULTS } from '../lambdas/core/config';
import { errorMessage, InvalidEventError } from '../lambdas/core/errors';
import { parseBusEvent } from '../lambdas/core/events';
import { freshJobBody } from '../lambdas/core/job';
import type { DeliveryLogMode, DeliveryLogPort } from '../lambdas/core/delivery-log';
import type { DynamoDeliveryLog } from '../lambdas/adapters/delivery-log-store';
import { replayScope, type ReplayFilter } from '../lambdas/core/replay';
import { fanOut, type FanOutPorts } from '../lambdas/core/route-event';
import { noMetrics, silentLog } from '../lambdas/core/ports';
import { queueDepth, release, scan, type ScanProgress } from './dlq-queue';
import { readParkedEvent, readParkedJob, type BusEvent, type ParkedEventKind } from './dlq-view';

/**
 * The redrive engine of `dlq redrive`: scans a DLQ, sends the selected messages on and deletes
 * from the DLQ only what the target accepted; everything else stays parked and is released.
 */

/** How long `dlq redrive` holds messages while it scans and moves; generous, the scan is bounded. */
export const REDRIVE_VISIBILITY_SECONDS = 300;
/** Most messages one redrive run looks at; run it again for more. */
export const MAX_SCAN = 5_000;

export interface RedriveSelection {
  readonly tenant?: string;
  readonly subscription?: string;
  /** Only these messages: message ids, or delivery ids (delivery DLQ) / event ids (fan-out DLQ), as `dlq list` shows them. */
  readonly ids?: readonly string[];
  /** Most messages to move. */
  readonly max?: number;
  /** Report what would move, move nothing. */
  readonly dryRun?: boolean;
  /** Fan-out DLQ: also retry events that fan-out rejected (only those the current validator accepts). */
  readonly includeRejected?: boolean;
  /** Delivery DLQ: also move jobs whose subscription is not active (paused, disabled, deleted). */
  readonly force?: boolean;
}

export interface Moved {
  readonly messageId: string;
  /** Delivery DLQ: the delivery id; fan-out DLQ: the original event id. */
  readonly id: string | null;
  readonly tenantId: string | null;
  readonly subscriptionId?: string | null;
  /**
   * Fan-out redrive: the delivery ids of the jobs queued for the event (empty when no active
   * subscription matches). Derived from the original event id, so the same as the first fan-out's.
   */
  readonly deliveryIds?: readonly string[];
}

export interface RedriveReport {
  readonly moved: Moved[];
  /** Seen, but outside the selection or beyond --max: left parked. */
  readonly notSelected: number;
  /** Selected but not movable (unreadable, rejected events), left parked, with the reason. */
  readonly skipped: { messageId: string; id: string | null; reason: string }[];
  /** Refused by the target queue, or fan-out failed (subscriptions unreadable, jobs refused): left parked. */
  readonly failed: { messageId: string; id: string | null; reason: string }[];
  /** Accepted by the target but could not be deleted from the DLQ: will be delivered again (same delivery id). */
  readonly notDeleted: { messageId: string; id: string | null; reason: string }[];
  /** Fan-out redrive: what fan-out reported along the way (subscription items it skipped as invalid); delivery redrive: jobs left parked because their subscription is not active. */
  readonly warnings: string[];
  /** Delivery redrive: jobs left parked because their subscription is not active (see --force). */
  readonly inactive: number;
  /**
   * Messages left parked that could not be made visible again at the end of the run: they stay
   * hidden until their visibility (REDRIVE_VISIBILITY_SECONDS) ends, then reappear by themselves.
   */
  readonly unreleased: number;
  /** Whether the scan reached the end of the queue (false: stopped at --max or the scan bound). */
  readonly scanComplete: boolean;
  /** Messages in the DLQ afterwards (approximate on AWS). */
  readonly remaining: number | null;
  readonly dryRun: boolean;
}

interface Candidate {
  readonly message: Message;
  readonly id: string | null;
  readonly tenantId: string | null;
  readonly subscriptionId?: string | null;
}

/** What became of one candidate: accepted by the target, refused (an error), or not movable after all (left parked). */
type SendResult = { ok: true; deliveryIds?: readonly string[] } | { ok: false; error: string } | { ok: 'skip'; reason: string };

/** The part of a redrive that differs between the two queues: selection and the move itself. */
interface Mover<C extends Candidate> {
  /** A candidate to move, a reason to skip it, or null when it is outside the selection. */
  select(message: Message): { candidate: C } | { skip: string; id: string | null } | null;
  /** Sends a batch on; returns one result per candidate, in order. */
  send(batch: readonly C[]): Promise<SendResult[]>;
  /** Optional second look before anything moves (also in a dry run): a reason to leave each candidate parked, or null. */
  vet?(batch: readonly C[]): Promise<(string | null)[]>;
}

type Report = {
  moved: Moved[];
  notSelected: number;
  skipped: RedriveReport['skipped'];
  failed: RedriveReport['failed'];
  notDeleted: RedriveReport['notDeleted'];
  warnings: string[];
  inactive: number;
};

async function redrive<C extends Candidate>(sqs: SQSClient, dlqUrl: string, mover: Mover<C>, selection: RedriveSelection): Promise<RedriveReport> {
  const max = selection.max ?? Number.POSITIVE_INFINITY;
  const held: Message[] = [];
  const report: Report = { moved: [], notSelected: 0, skipped: [], failed: [], notDeleted: [], warnings: [], inactive: 0 };
  let selectedCount = 0;
  let scanComplete = true;
  let unreleased = 0;
  const progress: ScanProgress = { stoppedEarly: false };
  try {
    for await (const batch of scan(sqs, dlqUrl, REDRIVE_VISIBILITY_SECONDS, MAX_SCAN, progress)) {
      let candidates: C[] = [];
      for (const message of batch) {
        const decision = mover.select(message);
        if (decision === null) {
          report.notSelected++;
          held.push(message);
        } else if ('skip' in decision) {
          report.skipped.push({ messageId: message.MessageId!, id: decision.id, reason: decision.skip });
          held.push(message);
        } else candidates.push(decision.candidate);
      }
      // Vetted before --max counts them: a job left parked (its subscription is not active) never
      // takes the place of one that can move.
      if (mover.vet && candidates.length) {
        const reasons = await mover.vet(candidates);
        candidates = candidates.filter((c, i) => {
          const reason = reasons[i];
          if (reason === null || reason === undefined) return true;
          report.skipped.push({ messageId: c.message.MessageId!, id: c.id, reason });
          report.warnings.push(`skipped ${c.id ?? c.message.MessageId}: ${reason}`);
          report.inactive++;
          held.push(c.message);
          return false;
        });
      }
      const chosen = candidates.slice(0, max - selectedCount);
      for (const c of candidates.slice(chosen.length)) {
        report.notSelected++;
        held.push(c.message);
      }
      selectedCount += chosen.length;
      if (selection.dryRun) {
        held.push(...chosen.map((c) => c.message));
        report.moved.push(...chosen.map((c) => movedOf(c)));
      } else if (chosen.length) {
        await move(sqs, dlqUrl, mover, chosen, held, report);
      }
      if (selectedCount >= max) {
        scanComplete = false;
        break;
      }
    }
  } finally {
    unreleased = await release(sqs, dlqUrl, held);
  }
  if (selectedCount < max && held.length + report.moved.length >= MAX_SCAN) scanComplete = false;
  if (progress.stoppedEarly) scanComplete = false;
  return { ...report, unreleased, scanComplete, remaining: await queueDepth(sqs, dlqUrl), dryRun: selection.dryRun === true };
}

/** Whether a message is one of the ids asked for (by message id or by its delivery / event id); all are without ids. */
function isSelected(selection: RedriveSelection, messageId: string, id: string | null): boolean {
  if (selection.ids === undefined) return true;
  return selection.ids.includes(messageId) || (id !== null && selection.ids.includes(id));
}

function movedOf(c: Candidate, deliveryIds?: readonly string[]): Moved {
  return {
    messageId: c.message.MessageId!,
    id: c.id,
    tenantId: c.tenantId,
    ...(c.subscriptionId !== undefined ? { subscriptionId: c.subscriptionId } : {}),
    ...(deliveryIds ? { deliveryIds } : {}),
  };
}

/** Sends first; deletes from the DLQ only what the target accepted. Anything else stays parked. */
async function move<C extends Candidate>(
  sqs: SQSClient,
  dlqUrl: string,
  mover: Mover<C>,
  chosen: readonly C[],
  held: Message[],
  report: Report,
): Promise<void> {
  let results: SendResult[];
  try {
    results = await mover.send(chosen);
  } catch (error) {
    results = chosen.map(() => ({ ok: false as const, error: errorMessage(error) }));
  }
  const accepted: { c: C; deliveryIds?: readonly string[] }[] = [];
  chosen.forEach((c, i) => {
    const r = results[i] ?? { ok: false, error: 'no result' };
    if (r.ok === true) accepted.push({ c, deliveryIds: r.deliveryIds });
    else {
      if (r.ok === 'skip') report.skipped.push({ messageId: c.message.MessageId!, id: c.id, reason: r.reason });
      else report.failed.push({ messageId: c.message.MessageId!, id: c.id, reason: r.error });
      held.push(c.message);
    }
  });
  if (accepted.length === 0) return;
  let deleteFailures = new Map<string, string>();
  try {
    const out = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: accepted.map(({ c }, i) => ({ Id: `m${i}`, ReceiptHandle: c.message.ReceiptHandle! })) }),
    );
    deleteFailures = new Map((out.Failed ?? []).map((f) => [f.Id!, `${f.Code ?? 'Error'}: ${f.Message ?? ''}`.trim()]));
  } catch (error) {
    deleteFailures = new Map(accepted.map((_, i) => [`m${i}`, (error as Error).message]));
  }
  accepted.forEach(({ c, deliveryIds }, i) => {
    const failure = deleteFailures.get(`m${i}`);
    report.moved.push(movedOf(c, deliveryIds));
    if (failure) report.notDeleted.push({ messageId: c.message.MessageId!, id: c.id, reason: failure });
  });
}

/**
 * Delivery DLQ → delivery queue (the fast lane): the original job as a fresh message, so attempts
 * start again at 1 (and a new deadline), and the delivery id (in the body) stays the receiver's
 * dedupe key. A job of an endpoint that is still failing moves on to the retry lane by itself.
 */
export function redriveDeliveryDlq(
  sqs: SQSClient,
  dlqUrl: string,
  deliveryQueueUrl: string,
  selection: RedriveSelection,
  now = new Date(),
  subscriptionState?: SubscriptionStateLookup,
  deliveryLog?: Pick<DynamoDeliveryLog, 'mark'>,
): Promise<RedriveReport> {
  type C = Candidate & { body: string; reason?: string };
  const logWarnings: string[] = [];
  const queue = new SqsJobQueue(sqs, deliveryQueueUrl, { retries: DEFAULTS.sendBatchRetries });
  const states = new Map<string, Promise<string>>();
  const stateOf = (tenantId: string, subscriptionId: string): Promise<string> => {
    const key = `${tenantId}\n${subscriptionId}`;
    let state = states.get(key);
    if (!state) states.set(key, (state = subscriptionState!(tenantId, subscriptionId)));
    return state;
  };
  return redrive<C>(
    sqs,
    dlqUrl,
    {
      select(message) {
        const { view, job } = readParkedJob(message, now);
        if (selection.tenant !== undefined && view.tenantId !== selection.tenant) return null;
        if (selection.subscription !== undefined && view.subscriptionId !== selection.subscription) return null;
        if (!isSelected(selection, view.messageId, view.deliveryId)) return null;
        if (!job) return { skip: view.reason, id: null };
        return { candidate: { message, body: message.Body!, id: job.deliveryId, tenantId: job.tenantId, subscriptionId: job.subscriptionId, reason: view.reason } };
      },
      // A job of a subscription that is not active would only be dropped (or delivered against the
      // customer's will, with --force): it stays parked and the operator is told why.
      ...(subscriptionState && !selection.force
        ? {
            async vet(batch: readonly C[]) {
              return Promise.all(
                batch.map(async (c) => {
                  const state = await stateOf(c.tenantId!, c.subscriptionId!);
                  return state === 'active' ? null : `subscription ${c.subscriptionId} of tenant ${c.tenantId} is ${state}: left parked (--force moves it anyway)`;
                }),
              );
            },
          }
        : {}),
      async send(batch) {
        // The job queue's own sending: bounded retries of refused entries, SQS-safe escaping.
        // Attempts, deadline and waits start again (job.ts freshJobBody); the delivery id stays.
        // Queued again: its delivery-log record says so before the job is sent, so the attempt's
        // own write comes after it (the attempts so far stay). The log is a record, not a gate: a
        // failure is a warning, and a job that could not be sent gets its parked state back.
        const mark = async (c: C, state: 'pending' | 'parked', reason?: string) => {
          try {
            await deliveryLog!.mark(c.tenantId!, c.id!, state, reason, new Date(), state === 'pending' ? 'redrive' : undefined);
          } catch (error) {
            logWarnings.push(`delivery ${c.id}: its delivery-log record could not be marked ${state} (${errorMessage(error)})`);
          }
        };
        if (deliveryLog) await Promise.all(batch.map((c) => mark(c, 'pending')));
        const results = await queue.sendBodies(batch.map((c) => freshJobBody(c.body, new Date())));
        if (deliveryLog) await Promise.all(batch.map((c, i) => (results[i]?.ok ? undefined : mark(c, 'parked', c.reason))));
        return results.map((result) => (result.ok ? { ok: true as const } : { ok: false as const, error: result.reason }));
      },
    },
    selection,
  ).then((report) => ({ ...report, warnings: [...report.warnings, ...logWarnings] }));
}

/** The state of a subscription for redrive: `active`, `paused`, `disabled`, `deleted`, or why it cannot be read. */
export type SubscriptionStateLookup = (tenantId: string, subscriptionId: string) => Promise<string>;

/** Reads subscription states from the table; an item that breaks the schema is not active. */
export function subscriptionStates(db: DynamoDBDocumentClient, subscriptionsTable: string): SubscriptionStateLookup {
  const store = new DynamoSubscriptionStore(db, subscriptionsTable);
  return async (tenantId, subscriptionId) => {
    try {
      const subscription = await store.get(tenantId, subscriptionId);
      return subscription === undefined ? 'deleted' : subscription.state;
    } catch (error) {
      return `unreadable (${errorMessage(error)})`;
    }
  };
}

/**
 * Where fan-out redrive sends events: the fan-out function's own ports, minus parking and
 * observability, plus the filters of replays (what the function skips, the redrive skips too).
 */
export type FanOutTarget = Pick<FanOutPorts, 'subscriptionsOf' | 'enqueue' | 'deliveryLog' | 'deliveryLogMode' | 'operatorRedrive' | 'sources'> & {
  readonly replayFilterOf: (replayName: string) => Promise<ReplayFilter>;
};

/**
 * The ports the fan-out function wires (lambdas/fan-out/handler.ts), built from the same adapters,
 * without its cache; with the delivery log when the target has one (pending records, as fan-out writes them).
 */
export function fanOutTarget(
  sqs: SQSClient,
  db: DynamoDBDocumentClient,
  eventBridge: EventBridgeClient,
  subscriptionsTable: string,
  deliveryQueueUrl: string,
  deliveryLog?: DeliveryLogPort & { readonly mode?: DeliveryLogMode },
  sources?: readonly string[],
): FanOutTarget {
  const store = new DynamoSubscriptionStore(db, subscriptionsTable);
  const queue = new SqsJobQueue(sqs, deliveryQueueUrl, { retries: DEFAULTS.sendBatchRetries });
  const replays = new ReplayFilters(eventBridge);
  return {
    subscriptionsOf: (tenantId) => store.listByTenant(tenantId),
    enqueue: (jobs) => queue.enqueue(jobs),
    deliveryLog,
    deliveryLogMode: deliveryLog?.mode,
    operatorRedrive: true,
    ...(sources !== undefined ? { sources } : {}),
    replayFilterOf: (replayName) => replays.filterOf(replayName),
  };
}

/** A reason the current validator gives for refusing the event, or null when it accepts it. */
function invalidReason(event: BusEvent, sources?: readonly string[]): string | null {
  try {
    parseBusEvent(event, sources);
    return null;
  } catch (error) {
    if (error instanceof InvalidEventError) return error.message;
    throw error;
  }
}

function invalidSkip(kind: ParkedEventKind, reason: string): string {
  return kind === 'rejected-event' ? `still invalid: ${reason}` : `invalid (fan-out would reject it; left parked): ${reason}`;
}

/**
 * Fan-out DLQ → fan-out again: each selected event goes through the same code the fan-out
 * function runs (`fanOut` of lambdas/core/route-event.ts), with its original event id, so its jobs
 * get the same delivery ids (`webhook-id`) as the first fan-out and receivers that already got
 * some of them dedupe. A message leaves the DLQ only after fan-out resolved, i.e. after SQS
 * accepted every job. An event the current validator refuses is not parked again: its message
 * stays where it is and the report says why. Events fan-out rejected as invalid are skipped
 * unless includeRejected is set (they are retried only if the current validator accepts them).
 */
export function redriveFanOutDlq(sqs: SQSClient, dlqUrl: string, target: FanOutTarget, selection: RedriveSelection, now = new Date()): Promise<RedriveReport> {
  type C = Candidate & { event: BusEvent; kind: ParkedEventKind };
  const warnings = new Set<string>();
  return redrive<C>(
    sqs,
    dlqUrl,
    {
      select(message) {
        const { view, event } = readParkedEvent(message, now);
        if (selection.tenant !== undefined && view.tenantId !== selection.tenant) return null;
        if (!isSelected(selection, view.messageId, view.eventId)) return null;
        if (!event) return { skip: `no original event to retry (${view.kind}: ${view.reason})`, id: view.eventId };
        if (view.kind === 'rejected-event' && !selection.includeRejected) {
          return { skip: `rejected as invalid (${view.reason}); use --include-rejected to retry events the current validator accepts`, id: view.eventId };
        }
        // What fan-out does first: an event it would reject is left parked, not parked again.
        const invalid = invalidReason(event, target.sources);
        if (invalid !== null) return { skip: invalidSkip(view.kind, invalid), id: view.eventId };
        return { candidate: { message, event, kind: view.kind, id: view.eventId, tenantId: view.tenantId } };
      },
      async send(batch) {
        const results: SendResult[] = [];
        // One event at a time, as the function handles them: each is a Query and a SendMessageBatch.
        for (const { event, kind, tenantId } of batch) {
          let rejected: string | undefined;
          const ports: FanOutPorts = {
            ...target,
            park: async (record) => {
              rejected = record.reason;
            },
            now: () => new Date(),
            // fanOut's log lines are its own progress; what an operator should act on comes back in
            // its result, or is a delivery-log write that failed (the jobs were queued all the same).
            log: { ...silentLog, warn: (message, fields) => void (message.startsWith('delivery log') && warnings.add(`event ${String(fields?.eventId)}: ${message} (${String(fields?.reason)})`)) },
            metrics: noMetrics,
          };
          try {
            // A replayed event its replay's filter leaves out: the function would skip it, so does the
            // redrive; one whose replay names a subscription goes to that one only, as in the function.
            const scope = await replayScope(event, target.replayFilterOf);
            if (scope.outside !== undefined) {
              results.push({ ok: 'skip', reason: `${scope.outside}: fan-out skips it (left parked; discard it)` });
              continue;
            }
            const result = await fanOut(event, scope.onlySubscription !== undefined ? { ...ports, onlySubscription: scope.onlySubscription } : ports);
            if (result.status === 'queued') {
              for (const bad of result.invalidSubscriptions) warnings.add(`tenant ${String(tenantId)}: subscription item is invalid and was skipped: ${bad.subscriptionId}: ${bad.reason}`);
            }
            results.push(result.status === 'queued' ? { ok: true, deliveryIds: result.deliveryIds } : { ok: 'skip', reason: invalidSkip(kind, rejected ?? result.reason) });
          } catch (error) {
            results.push({ ok: false, error: `fan-out failed: ${errorMessage(error)}` });
          }
        }
        return results;
      },
    },
    selection,
  ).then((report) => ({ ...report, warnings: [...warnings] }));
}
