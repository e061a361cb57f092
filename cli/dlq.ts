import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvalidEventError } from '../lambdas/core/errors';
import { parseBusEvent } from '../lambdas/core/events';
import { putEvents } from './eventbridge';
import { readParkedEvent, readParkedJob, type BusEvent, type ParkedEvent, type ParkedJob } from './dlq-view';

/** SQS batch calls take at most 10 entries. */
const BATCH = 10;
/** How long `dlq list` hides what it has read, so one scan sees each message once. */
export const LIST_VISIBILITY_SECONDS = 30;
/** How long `dlq redrive` holds messages while it scans and moves; generous, the scan is bounded. */
export const REDRIVE_VISIBILITY_SECONDS = 300;
/** Most messages one redrive run looks at; run it again for more. */
export const MAX_SCAN = 5_000;

/**
 * Receives distinct messages without consuming them: each stays hidden for `visibilitySeconds`
 * (so the scan does not see it twice) until released. Ends on an empty long poll or at `max`.
 */
export async function* scan(sqs: SQSClient, queueUrl: string, visibilitySeconds: number, max: number): AsyncGenerator<Message[]> {
  const seen = new Set<string>();
  while (seen.size < max) {
    let messages = await receive(sqs, queueUrl, visibilitySeconds, Math.min(BATCH, max - seen.size), 0);
    // A short poll may miss messages on some SQS hosts: confirm "empty" with a long poll.
    if (messages.length === 0) messages = await receive(sqs, queueUrl, visibilitySeconds, Math.min(BATCH, max - seen.size), 1);
    if (messages.length === 0) return;
    const fresh = messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
    for (const m of fresh) seen.add(m.MessageId!);
    if (fresh.length) yield fresh;
  }
}

async function receive(sqs: SQSClient, queueUrl: string, visibilitySeconds: number, count: number, waitSeconds: number): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: count,
      VisibilityTimeout: visibilitySeconds,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** Makes held messages visible again at once. Returns how many could not be released (they reappear when their visibility ends). */
export async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<number> {
  let failed = 0;
  for (let i = 0; i < messages.length; i += BATCH) {
    const chunk = messages.slice(i, i + BATCH);
    try {
      const out = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m, j) => ({ Id: `m${j}`, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
        }),
      );
      failed += out.Failed?.length ?? 0;
    } catch {
      failed += chunk.length;
    }
  }
  return failed;
}

/** Messages in the queue, visible or held (approximate on AWS). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number | null> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    const a = out.Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  } catch {
    return null;
  }
}

export interface Listing<V> {
  readonly items: V[];
  /** Messages in the queue (approximate); more than items when --limit cut the list. */
  readonly total: number | null;
  readonly unreleased: number;
}

/** Reads up to `limit` messages and puts every one of them back: nothing is consumed. */
async function list<V>(sqs: SQSClient, queueUrl: string, limit: number, read: (m: Message) => V): Promise<Listing<V>> {
  const held: Message[] = [];
  let unreleased = 0;
  try {
    for await (const batch of scan(sqs, queueUrl, LIST_VISIBILITY_SECONDS, limit)) held.push(...batch);
  } finally {
    unreleased = await release(sqs, queueUrl, held);
  }
  return { items: held.map(read), total: await queueDepth(sqs, queueUrl), unreleased };
}

export function listParkedJobs(sqs: SQSClient, queueUrl: string, limit: number, now = new Date()): Promise<Listing<ParkedJob>> {
  return list(sqs, queueUrl, limit, (m) => readParkedJob(m, now).view);
}

export function listParkedEvents(sqs: SQSClient, queueUrl: string, limit: number, now = new Date()): Promise<Listing<ParkedEvent>> {
  return list(sqs, queueUrl, limit, (m) => readParkedEvent(m, now).view);
}

export interface RedriveSelection {
  readonly tenant?: string;
  readonly subscription?: string;
  /** Most messages to move. */
  readonly max?: number;
  /** Report what would move, move nothing. */
  readonly dryRun?: boolean;
  /** Fan-out DLQ: also resend events that fan-out rejected (only those the current validator accepts). */
  readonly includeRejected?: boolean;
}

export interface Moved {
  readonly messageId: string;
  readonly id: string | null;
  readonly tenantId: string | null;
  readonly subscriptionId?: string | null;
  /** Fan-out redrive: the id the bus gave the event this time (delivery ids derive from it). */
  readonly newEventId?: string;
}

export interface RedriveReport {
  readonly moved: Moved[];
  /** Seen, but outside the selection or beyond --max: left parked. */
  readonly notSelected: number;
  /** Selected but not movable (unreadable, rejected events), left parked, with the reason. */
  readonly skipped: { messageId: string; id: string | null; reason: string }[];
  /** Refused by the target queue or bus: left parked. */
  readonly failed: { messageId: string; id: string | null; reason: string }[];
  /** Accepted by the target but could not be deleted from the DLQ: will be delivered again (same delivery id). */
  readonly notDeleted: { messageId: string; id: string | null; reason: string }[];
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

/** The part of a redrive that differs between the two queues: selection and the move itself. */
interface Mover<C extends Candidate> {
  /** A candidate to move, a reason to skip it, or null when it is outside the selection. */
  select(message: Message): { candidate: C } | { skip: string; id: string | null } | null;
  /** Sends a batch on; returns, per candidate in order, the new event id or an error. */
  send(batch: readonly C[]): Promise<({ ok: true; newEventId?: string } | { ok: false; error: string })[]>;
}

async function redrive<C extends Candidate>(sqs: SQSClient, dlqUrl: string, mover: Mover<C>, selection: RedriveSelection): Promise<RedriveReport> {
  const max = selection.max ?? Number.POSITIVE_INFINITY;
  const held: Message[] = [];
  const report = { moved: [] as Moved[], notSelected: 0, skipped: [] as RedriveReport['skipped'], failed: [] as RedriveReport['failed'], notDeleted: [] as RedriveReport['notDeleted'] };
  let selectedCount = 0;
  let scanComplete = true;
  try {
    for await (const batch of scan(sqs, dlqUrl, REDRIVE_VISIBILITY_SECONDS, MAX_SCAN)) {
      const chosen: C[] = [];
      for (const message of batch) {
        const decision = selectedCount < max ? mover.select(message) : null;
        if (decision === null) {
          report.notSelected++;
          held.push(message);
        } else if ('skip' in decision) {
          report.skipped.push({ messageId: message.MessageId!, id: decision.id, reason: decision.skip });
          held.push(message);
        } else {
          selectedCount++;
          chosen.push(decision.candidate);
        }
      }
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
    await release(sqs, dlqUrl, held);
  }
  if (selectedCount < max && held.length + report.moved.length >= MAX_SCAN) scanComplete = false;
  return { ...report, scanComplete, remaining: await queueDepth(sqs, dlqUrl), dryRun: selection.dryRun === true };
}

function movedOf(c: Candidate, newEventId?: string): Moved {
  return { messageId: c.message.MessageId!, id: c.id, tenantId: c.tenantId, ...(c.subscriptionId !== undefined ? { subscriptionId: c.subscriptionId } : {}), ...(newEventId ? { newEventId } : {}) };
}

/** Sends first; deletes from the DLQ only what the target accepted. Anything else stays parked. */
async function move<C extends Candidate>(
  sqs: SQSClient,
  dlqUrl: string,
  mover: Mover<C>,
  chosen: readonly C[],
  held: Message[],
  report: { moved: Moved[]; failed: RedriveReport['failed']; notDeleted: RedriveReport['notDeleted'] },
): Promise<void> {
  let results: Awaited<ReturnType<Mover<C>['send']>>;
  try {
    results = await mover.send(chosen);
  } catch (error) {
    results = chosen.map(() => ({ ok: false as const, error: (error as Error).message }));
  }
  const accepted: { c: C; newEventId?: string }[] = [];
  chosen.forEach((c, i) => {
    const r = results[i];
    if (r?.ok) accepted.push({ c, newEventId: r.newEventId });
    else {
      report.failed.push({ messageId: c.message.MessageId!, id: c.id, reason: r && !r.ok ? r.error : 'no result' });
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
  accepted.forEach(({ c, newEventId }, i) => {
    const failure = deleteFailures.get(`m${i}`);
    report.moved.push(movedOf(c, newEventId));
    if (failure) report.notDeleted.push({ messageId: c.message.MessageId!, id: c.id, reason: failure });
  });
}

/**
 * Delivery DLQ → delivery queue: the original job body as a fresh message, so attempts start
 * again at 1 and the delivery id (in the body) stays the receiver's dedupe key.
 */
export function redriveDeliveryDlq(sqs: SQSClient, dlqUrl: string, deliveryQueueUrl: string, selection: RedriveSelection, now = new Date()): Promise<RedriveReport> {
  type C = Candidate & { body: string };
  return redrive<C>(
    sqs,
    dlqUrl,
    {
      select(message) {
        const { view, job } = readParkedJob(message, now);
        if (selection.tenant !== undefined && view.tenantId !== selection.tenant) return null;
        if (selection.subscription !== undefined && view.subscriptionId !== selection.subscription) return null;
        if (!job) return { skip: view.reason, id: null };
        return { candidate: { message, body: message.Body!, id: job.deliveryId, tenantId: job.tenantId, subscriptionId: job.subscriptionId } };
      },
      async send(batch) {
        const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: deliveryQueueUrl, Entries: batch.map((c, i) => ({ Id: `m${i}`, MessageBody: c.body })) }));
        const ok = new Set((out.Successful ?? []).map((s) => s.Id));
        const failed = new Map((out.Failed ?? []).map((f) => [f.Id, `${f.Code ?? 'Error'}: ${f.Message ?? ''}`.trim()]));
        return batch.map((_, i) => (ok.has(`m${i}`) ? { ok: true as const } : { ok: false as const, error: failed.get(`m${i}`) ?? 'not accepted by SQS' }));
      },
    },
    selection,
  );
}

/**
 * Fan-out DLQ → the bus: PutEvents with the original source, detail-type, detail and time, so
 * the event goes through fan-out again. The bus gives it a new event id, hence new delivery ids.
 * Events fan-out rejected as invalid are skipped (they would be rejected again) unless
 * includeRejected is set and the current validator accepts them.
 */
export function redriveFanOutDlq(sqs: SQSClient, dlqUrl: string, eventBridge: EventBridgeClient, eventBusName: string, selection: RedriveSelection, now = new Date()): Promise<RedriveReport> {
  type C = Candidate & { event: BusEvent };
  return redrive<C>(
    sqs,
    dlqUrl,
    {
      select(message) {
        const { view, event } = readParkedEvent(message, now);
        if (selection.tenant !== undefined && view.tenantId !== selection.tenant) return null;
        if (!event) return { skip: `no original event to resend (${view.kind}: ${view.reason})`, id: view.eventId };
        if (view.kind === 'rejected-event') {
          if (!selection.includeRejected) return { skip: `rejected as invalid (${view.reason}); use --include-rejected to resend events the current validator accepts`, id: view.eventId };
          try {
            parseBusEvent(event);
          } catch (error) {
            if (error instanceof InvalidEventError) return { skip: `still invalid: ${error.message}`, id: view.eventId };
            throw error;
          }
        }
        return { candidate: { message, event, id: view.eventId, tenantId: view.tenantId } };
      },
      async send(batch) {
        const results = await putEvents(
          eventBridge,
          batch.map(({ event }) => ({
            EventBusName: eventBusName,
            Source: event.source,
            DetailType: event['detail-type'],
            Detail: JSON.stringify(event.detail),
            ...(event.time && Number.isFinite(Date.parse(event.time)) ? { Time: new Date(event.time) } : {}),
          })),
        );
        return results.map((r) => (r.ok ? { ok: true as const, newEventId: r.eventId } : r));
      },
    },
    selection,
  );
}
