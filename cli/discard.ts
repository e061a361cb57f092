import { DeleteMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../lambdas/core/errors';
import { queueDepth, release, scan, type ScanProgress } from './dlq-queue';
import { readParkedEvent, readParkedJob } from './dlq-view';
import { MAX_SCAN, REDRIVE_VISIBILITY_SECONDS } from './redrive';

/**
 * The engine of `dlq discard`: finds the parked messages an operator judged hopeless, holds them
 * while the operator confirms, deletes exactly those, and releases everything else it held.
 */

export type DlqKind = 'delivery' | 'fan-out';

/** One parked message as the confirmation shows it. */
export interface DiscardCandidate {
  readonly messageId: string;
  /** Delivery DLQ: the delivery id; fan-out DLQ: the event id. */
  readonly id: string | null;
  readonly tenantId: string | null;
  /** Delivery DLQ: the subscription; fan-out DLQ: the detail-type. */
  readonly what: string | null;
  readonly reason: string;
}

export interface DiscardSelection {
  /** Message ids, or delivery ids (delivery DLQ) / event ids (fan-out DLQ). */
  readonly ids?: readonly string[];
  readonly all?: boolean;
}

export interface DiscardReport {
  readonly discarded: DiscardCandidate[];
  /** Selected, but SQS refused to delete them: still parked. */
  readonly failed: { readonly messageId: string; readonly id: string | null; readonly reason: string }[];
  /** Ids asked for that are not in the DLQ (or were not seen within the scan bound). */
  readonly notFound: string[];
  /** Held messages that could not be made visible again; they reappear by themselves. */
  readonly unreleased: number;
  readonly remaining: number | null;
  /** The operator said no: nothing was deleted. */
  readonly cancelled: boolean;
  /**
   * The scan read to the end of the queue, or found every id asked for. False when it stopped
   * early (MAX_SCAN read, or the messages it holds were about to come back): with `all`, more may
   * be left to discard; an id in `notFound` may be further on.
   */
  readonly scanComplete: boolean;
}

function describe(kind: DlqKind, message: Message, now: Date): DiscardCandidate {
  if (kind === 'delivery') {
    const { view } = readParkedJob(message, now);
    return { messageId: view.messageId, id: view.deliveryId, tenantId: view.tenantId, what: view.subscriptionId, reason: view.reason };
  }
  const { view } = readParkedEvent(message, now);
  return { messageId: view.messageId, id: view.eventId, tenantId: view.tenantId, what: view.detailType, reason: view.reason };
}

/**
 * Scans the DLQ, selects, asks `confirm` with what would go, then deletes it. Nothing is deleted
 * unless `confirm` says yes; every message not deleted is released at the end.
 */
export async function discardParked(
  sqs: SQSClient,
  queueUrl: string,
  kind: DlqKind,
  selection: DiscardSelection,
  confirm: (candidates: readonly DiscardCandidate[]) => Promise<boolean>,
  now = new Date(),
): Promise<DiscardReport> {
  const wanted = new Set(selection.ids ?? []);
  const found = new Set<string>();
  const held: Message[] = [];
  const chosen: { message: Message; candidate: DiscardCandidate }[] = [];
  const discarded: DiscardCandidate[] = [];
  const failed: DiscardReport['failed'] = [];
  let cancelled = false;
  let unreleased = 0;
  const progress: ScanProgress = { stoppedEarly: false };
  let read = 0;
  let foundAll = false;
  try {
    for await (const batch of scan(sqs, queueUrl, REDRIVE_VISIBILITY_SECONDS, MAX_SCAN, progress)) {
      read += batch.length;
      for (const message of batch) {
        const candidate = describe(kind, message, now);
        const match = selection.all ? 'all' : [candidate.messageId, candidate.id].find((x): x is string => x !== null && wanted.has(x));
        if (match === undefined) held.push(message);
        else {
          if (match !== 'all') found.add(match);
          chosen.push({ message, candidate });
        }
      }
      if (!selection.all && found.size === wanted.size) {
        foundAll = true;
        break;
      }
    }
    let yes = true;
    try {
      if (chosen.length > 0) yes = await confirm(chosen.map((c) => c.candidate));
    } catch (error) {
      held.push(...chosen.map((c) => c.message));
      throw error;
    }
    if (!yes) {
      cancelled = true;
      held.push(...chosen.map((c) => c.message));
    } else {
      for (let i = 0; i < chosen.length; i += 10) {
        const chunk = chosen.slice(i, i + 10);
        let failures = new Map<string, string>();
        try {
          const out = await sqs.send(
            new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((c, j) => ({ Id: `m${j}`, ReceiptHandle: c.message.ReceiptHandle! })) }),
          );
          failures = new Map((out.Failed ?? []).map((f) => [f.Id!, `${f.Code ?? 'Error'}: ${f.Message ?? ''}`.trim()]));
        } catch (error) {
          failures = new Map(chunk.map((_, j) => [`m${j}`, errorMessage(error)]));
        }
        chunk.forEach((c, j) => {
          const failure = failures.get(`m${j}`);
          if (failure === undefined) discarded.push(c.candidate);
          else {
            failed.push({ messageId: c.candidate.messageId, id: c.candidate.id, reason: failure });
            held.push(c.message);
          }
        });
      }
    }
  } finally {
    unreleased = await release(sqs, queueUrl, held);
  }
  const notFound = selection.all ? [] : [...wanted].filter((id) => !found.has(id));
  const scanComplete = foundAll || (!progress.stoppedEarly && read < MAX_SCAN);
  return { discarded, failed, notFound, unreleased, remaining: await queueDepth(sqs, queueUrl), cancelled, scanComplete };
}
