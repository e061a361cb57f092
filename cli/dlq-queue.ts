import { ChangeMessageVisibilityBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { readParkedEvent, readParkedJob, type ParkedEvent, type ParkedJob } from './dlq-view';

/**
 * Reading a dead-letter queue without consuming it: scan (receive and hold), release, depth, and
 * the listings of `dlq list`. Moving messages out is cli/redrive.ts.
 */

/** SQS batch calls take at most 10 entries. */
const BATCH = 10;
/** How long `dlq list` hides what it has read, so one scan sees each message once. */
export const LIST_VISIBILITY_SECONDS = 30;

/** What a scan saw of its own end: `stoppedEarly` when it stopped before the queue was empty. */
export interface ScanProgress {
  stoppedEarly: boolean;
}

/** A scan stops this long before the first messages it holds would become visible again. */
const HOLD_MARGIN_MS = 5_000;

/**
 * Receives distinct messages without consuming them: each stays hidden for `visibilitySeconds`
 * (so the scan does not see it twice) until released. Ends on an empty long poll or at `max`, and
 * early (`progress.stoppedEarly`) when the first messages it holds are about to become visible
 * again, or already have (a receive returned only messages it has seen): past that point it would
 * go round the queue again instead of finding new ones.
 */
export async function* scan(
  sqs: SQSClient,
  queueUrl: string,
  visibilitySeconds: number,
  max: number,
  progress: ScanProgress = { stoppedEarly: false },
  now: () => number = Date.now,
): AsyncGenerator<Message[]> {
  const seen = new Set<string>();
  const deadline = now() + Math.max(visibilitySeconds * 1000 - HOLD_MARGIN_MS, visibilitySeconds * 500);
  while (seen.size < max) {
    if (now() >= deadline) {
      progress.stoppedEarly = true;
      return;
    }
    let messages = await receive(sqs, queueUrl, visibilitySeconds, Math.min(BATCH, max - seen.size), 0);
    // A short poll may miss messages on some SQS hosts: confirm "empty" with a long poll.
    if (messages.length === 0) messages = await receive(sqs, queueUrl, visibilitySeconds, Math.min(BATCH, max - seen.size), 1);
    if (messages.length === 0) return;
    const fresh = messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
    if (fresh.length === 0) {
      progress.stoppedEarly = true;
      return;
    }
    for (const m of fresh) seen.add(m.MessageId!);
    yield fresh;
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
  /** With a filter: how many messages were read to find the items, and whether that was all of them. */
  readonly scanned?: number;
  readonly scanComplete?: boolean;
}

/**
 * The selection of `dlq list --tenant --subscription` and of the console's filtered dead-letter
 * page: a parked message of that tenant and subscription (either may be left out); undefined
 * without a filter, so the listing reads only `limit` messages.
 */
export function parkedSelection(filter: { readonly tenant?: string; readonly subscription?: string }): ((view: { tenantId: string | null; subscriptionId?: string | null }) => boolean) | undefined {
  const { tenant, subscription } = filter;
  if (tenant === undefined && subscription === undefined) return undefined;
  return (view) => (tenant === undefined || view.tenantId === tenant) && (subscription === undefined || view.subscriptionId === subscription);
}

/** A filtered listing reads at most this many messages (each stays hidden until the scan ends). */
export const FILTERED_SCAN_MAX = 2_000;

/**
 * Reads up to `limit` messages and puts every one of them back: nothing is consumed. With
 * `select`, reads on (up to FILTERED_SCAN_MAX) until `limit` messages match it.
 */
async function list<V>(sqs: SQSClient, queueUrl: string, limit: number, read: (m: Message) => V, select?: (view: V) => boolean): Promise<Listing<V>> {
  const held: Message[] = [];
  const items: V[] = [];
  let unreleased = 0;
  let ended = true;
  const progress: ScanProgress = { stoppedEarly: false };
  try {
    const max = select ? Math.max(limit, FILTERED_SCAN_MAX) : limit;
    for await (const batch of scan(sqs, queueUrl, LIST_VISIBILITY_SECONDS, max, progress)) {
      held.push(...batch);
      for (const message of batch) {
        const view = read(message);
        if (select === undefined || select(view)) items.push(view);
      }
      if (items.length >= limit || held.length >= max) {
        ended = false;
        break;
      }
    }
  } finally {
    unreleased = await release(sqs, queueUrl, held);
  }
  const total = await queueDepth(sqs, queueUrl);
  if (select === undefined) return { items, total, unreleased };
  return { items: items.slice(0, limit), total, unreleased, scanned: held.length, scanComplete: ended && !progress.stoppedEarly };
}

export function listParkedJobs(sqs: SQSClient, queueUrl: string, limit: number, now = new Date(), select?: (job: ParkedJob) => boolean): Promise<Listing<ParkedJob>> {
  return list(sqs, queueUrl, limit, (m) => readParkedJob(m, now).view, select);
}

export function listParkedEvents(sqs: SQSClient, queueUrl: string, limit: number, now = new Date(), select?: (event: ParkedEvent) => boolean): Promise<Listing<ParkedEvent>> {
  return list(sqs, queueUrl, limit, (m) => readParkedEvent(m, now).view, select);
}
