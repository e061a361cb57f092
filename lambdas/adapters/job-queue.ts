import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { PARKED_ATTRIBUTES, type DeliveryJob, type RejectedEventRecord } from '../core/job';
import { SQS_MAX_MESSAGE_BYTES, sqsSafeAttribute, sqsSafeJsonText, toSqsText, utf8Length } from '../core/sqs-text';
import { sleep } from '../core/sleep';
import { truncateText } from '../core/text';

/** Longest park reason kept in the message attribute (the record body of a rejected event has it whole). */
const REASON_ATTRIBUTE_CHARS = 1024;

/** SQS's longest DelaySeconds. */
export const SQS_MAX_DELAY_SECONDS = 900;

/** SendMessageBatch takes at most 10 entries. */
const BATCH = 10;

export class QueueSendError extends Error {
  constructor(
    message: string,
    readonly failedIds: readonly string[],
  ) {
    super(message);
    this.name = 'QueueSendError';
  }
}

export interface SendOptions {
  /** Further tries of entries SQS refused (throttling, internal errors). */
  readonly retries: number;
  /** Pause before retry n (ms); injectable so tests need not wait. */
  readonly backoffMs?: (retry: number) => number;
}

/**
 * Sends messages with SendMessageBatch: 10 per call, the calls in parallel, entries that failed
 * tried again a bounded number of times. Throws QueueSendError naming what still failed.
 */
export async function sendAll(sqs: SQSClient, queueUrl: string, entries: readonly SendMessageBatchRequestEntry[], options: SendOptions): Promise<void> {
  const { refused, senderFault } = await sendEach(sqs, queueUrl, entries, options);
  if (refused.size === 0) return;
  const failedIds = [...refused.keys()];
  if (senderFault) throw new QueueSendError(`SQS refused message ${senderFault}: ${refused.get(senderFault)}`, failedIds);
  const reasons = [...new Set(refused.values())].slice(0, 3).join('; ');
  throw new QueueSendError(`${refused.size} of ${entries.length} messages were not accepted by SQS: ${reasons}`, failedIds);
}

interface SendEachResult {
  /** Entry id → why SQS did not accept it, after the tries; accepted entries are absent. */
  readonly refused: Map<string, string>;
  /** The first entry SQS refused as the sender's fault (never retried), if any. */
  readonly senderFault?: string;
}

/**
 * The sending of sendAll without the throw: every entry is tried (an entry refused as the
 * sender's fault only once), and the result says which ones SQS did not accept.
 */
async function sendEach(sqs: SQSClient, queueUrl: string, entries: readonly SendMessageBatchRequestEntry[], options: SendOptions): Promise<SendEachResult> {
  const backoff = options.backoffMs ?? ((n: number) => 100 * 2 ** n);
  const refused = new Map<string, string>();
  let senderFault: string | undefined;
  let pending = [...entries];
  for (let round = 0; pending.length > 0 && round <= options.retries; round++) {
    if (round > 0) await sleep(backoff(round));
    const chunks: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < pending.length; i += BATCH) chunks.push(pending.slice(i, i + BATCH));
    const results = await Promise.allSettled(chunks.map((Entries) => sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }))));
    const next: SendMessageBatchRequestEntry[] = [];
    results.forEach((result, i) => {
      const chunk = chunks[i]!;
      if (result.status === 'rejected') {
        // The whole call failed (throttled, network): every entry of it is tried again.
        next.push(...chunk);
        for (const entry of chunk) refused.set(entry.Id!, String((result.reason as Error)?.message ?? result.reason));
        return;
      }
      for (const entry of chunk) refused.delete(entry.Id!);
      for (const failed of result.value.Failed ?? []) {
        const entry = chunk.find((e) => e.Id === failed.Id);
        if (!entry) continue;
        refused.set(entry.Id!, `${failed.Code}: ${failed.Message ?? ''}`.trim());
        // The request itself is wrong: retrying cannot help.
        if (failed.SenderFault) senderFault ??= entry.Id!;
        else next.push(entry);
      }
    });
    pending = next;
  }
  return { refused, senderFault };
}

/** Pauses between the tries of ChangeMessageVisibility: short, the function's time budget is small. */
const VISIBILITY_RETRY_PAUSES_MS = [100, 400];

/** The delivery queue as fan-out and delivery use it. */
export class SqsJobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly options: SendOptions,
  ) {}

  async enqueue(jobs: readonly DeliveryJob[]): Promise<void> {
    // Entry ids must be unique within a call and match [A-Za-z0-9_-]{1,80}: the delivery id does.
    const entries = jobs.map((job) => ({ Id: job.deliveryId, MessageBody: toSqsText(job) }));
    await sendAll(this.sqs, this.queueUrl, entries, this.options);
  }

  /**
   * Puts message bodies on the queue as they are (e.g. parked jobs going back), escaped to what
   * SQS carries, with the same bounded retries as enqueue. Never throws for a refused body:
   * returns per body whether SQS accepted it, so a caller can act on exactly the accepted ones.
   */
  async sendBodies(bodies: readonly string[]): Promise<({ ok: true } | { ok: false; reason: string })[]> {
    // Index ids, not delivery ids: the same job may be parked twice, and ids must be unique per call.
    const entries = bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: sqsSafeJsonText(body) }));
    const { refused } = await sendEach(this.sqs, this.queueUrl, entries, this.options);
    return entries.map(({ Id }) => {
      const reason = refused.get(Id);
      return reason === undefined ? { ok: true as const } : { ok: false as const, reason };
    });
  }

  /**
   * Queues one job after `delaySeconds` (SQS's DelaySeconds, at most 900: a longer wait is the
   * job's `notBefore`, which the delivery function honours by visibility when it comes early).
   */
  async sendJob(job: DeliveryJob, delaySeconds: number): Promise<void> {
    const DelaySeconds = Math.min(Math.max(0, Math.ceil(delaySeconds)), SQS_MAX_DELAY_SECONDS);
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: toSqsText(job), DelaySeconds }));
  }

  /**
   * Sets the job's visibility. A failed call is tried again (3 tries in all, 100 ms and 400 ms
   * apart, on top of the SDK's own retries): if it still fails, the job only comes back after the
   * queue's whole visibility timeout (360 s by default) instead of the scheduled delay.
   */
  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    const command = new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds });
    for (let tryNumber = 1; ; tryNumber++) {
      try {
        await this.sqs.send(command);
        return;
      } catch (error) {
        const pause = VISIBILITY_RETRY_PAUSES_MS[tryNumber - 1];
        if (pause === undefined) throw error;
        await sleep(pause);
      }
    }
  }
}

/** A dead-letter queue that statushooks writes to itself, with the reason attached. */
export class SqsParkingLot {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Parks a delivery job's original body; the reason and attempts travel as message attributes.
   * The body came from SQS, so it is carriable already; it is escaped anyway (JSON-lossless) so a
   * body from elsewhere cannot make parking fail. The reason is cut to 1024 characters and any
   * character SQS refuses in it is written as the text `\uXXXX`.
   */
  async parkJob(body: string, reason: string, attempts: number, now: Date): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: sqsSafeJsonText(body),
        MessageAttributes: {
          [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: sqsSafeAttribute(reason, REASON_ATTRIBUTE_CHARS) },
          [PARKED_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: String(attempts) },
          [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: now.toISOString() },
        },
      }),
    );
  }

  /**
   * Parks an event that failed validation, as the original event plus the reason: JSON text of
   * any depth in which every character SQS refuses is a `\uXXXX` escape, so JSON.parse of the
   * body gives back the exact event.
   */
  async parkEvent(record: RejectedEventRecord): Promise<void> {
    const reason = sqsSafeAttribute(record.reason, REASON_ATTRIBUTE_CHARS);
    const room = SQS_MAX_MESSAGE_BYTES - utf8Length(PARKED_ATTRIBUTES.reason) - utf8Length('String') - utf8Length(reason);
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: fitEventRecord(record, room),
        MessageAttributes: { [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: reason } },
      }),
    );
  }
}

/**
 * SQS takes 256 KiB (UTF-8 bytes, attributes included). EventBridge events are at most 256 KB,
 * but escaping can grow them (U+FFFF: 3 bytes → `\uffff`, 6): an event that no longer fits is
 * kept as the beginning of its JSON text, flagged `eventTruncated`, rather than lost.
 */
export function fitEventRecord(record: RejectedEventRecord, maxBytes: number): string {
  const body = toSqsText(record);
  if (utf8Length(body) <= maxBytes) return body;
  const text = toSqsText(record.event);
  // A reason can quote producer input (an unknown detail-type): bounded here so the event keeps room.
  const reason = truncateText(record.reason, 16_384);
  // Headroom as before (250,000 bytes of body, at most 240,000 characters of event text).
  maxBytes = Math.min(maxBytes, 250_000);
  let keep = Math.min(text.length, 240_000);
  for (;;) {
    const fitted = toSqsText({ ...record, reason, event: truncateText(text, keep), eventTruncated: true });
    const size = utf8Length(fitted);
    if (size <= maxBytes || keep === 0) return fitted;
    keep = Math.max(0, Math.floor((keep * maxBytes) / size) - 16);
  }
}
