import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { PARKED_ATTRIBUTES, type DeliveryJob, type RejectedEventRecord } from '../core/job';

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
  const backoff = options.backoffMs ?? ((n: number) => 100 * 2 ** n);
  let pending = [...entries];
  let lastReasons: string[] = [];
  for (let round = 0; pending.length > 0; round++) {
    if (round > options.retries) {
      throw new QueueSendError(`${pending.length} of ${entries.length} messages were not accepted by SQS: ${lastReasons.slice(0, 3).join('; ')}`, pending.map((e) => e.Id!));
    }
    if (round > 0) await sleep(backoff(round));
    const chunks: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < pending.length; i += BATCH) chunks.push(pending.slice(i, i + BATCH));
    const results = await Promise.allSettled(chunks.map((Entries) => sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }))));
    const next: SendMessageBatchRequestEntry[] = [];
    lastReasons = [];
    results.forEach((result, i) => {
      const chunk = chunks[i]!;
      if (result.status === 'rejected') {
        // The whole call failed (throttled, network): every entry of it is tried again.
        next.push(...chunk);
        lastReasons.push(String((result.reason as Error)?.message ?? result.reason));
        return;
      }
      for (const failed of result.value.Failed ?? []) {
        const entry = chunk.find((e) => e.Id === failed.Id);
        if (!entry) continue;
        if (failed.SenderFault) {
          // The request itself is wrong: retrying cannot help.
          throw new QueueSendError(`SQS refused message ${failed.Id}: ${failed.Code} ${failed.Message ?? ''}`.trim(), [failed.Id!]);
        }
        next.push(entry);
        lastReasons.push(`${failed.Code}: ${failed.Message ?? ''}`);
      }
    });
    pending = next;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
    const entries = jobs.map((job) => ({ Id: job.deliveryId, MessageBody: JSON.stringify(job) }));
    await sendAll(this.sqs, this.queueUrl, entries, this.options);
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

  /** Parks a delivery job's original body; the reason and attempts travel as message attributes. */
  async parkJob(body: string, reason: string, attempts: number, now: Date): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        MessageAttributes: {
          [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: truncate(reason, 1024) },
          [PARKED_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: String(attempts) },
          [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: now.toISOString() },
        },
      }),
    );
  }

  /** Parks an event that failed validation, as the original event plus the reason. */
  async parkEvent(record: RejectedEventRecord): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: fitEventRecord(record),
        MessageAttributes: { [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: truncate(record.reason, 1024) } },
      }),
    );
  }
}

/** SQS takes 256 KiB; an oversized event is kept as truncated text rather than lost. */
function fitEventRecord(record: RejectedEventRecord): string {
  const body = JSON.stringify(record);
  if (body.length <= 250_000) return body;
  return JSON.stringify({ ...record, event: truncate(JSON.stringify(record.event), 240_000), eventTruncated: true });
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
