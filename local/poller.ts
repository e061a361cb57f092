/**
 * The SQS event source mapping, locally: long-polls a queue, invokes the function with an SQSEvent
 * shaped like Lambda's, deletes what succeeded and leaves the rest to come back when its
 * visibility (as the handler may have changed it) expires.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage } from '../lambdas/core/errors';
import { sleep } from '../lambdas/core/sleep';
import type { LambdaFunction } from './lambda-runner';

export interface EventSourceMappingSpec {
  readonly logicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** Records per invocation (Lambda: 1–10 without a batching window). */
  readonly batchSize: number;
  /** How long to gather records for a batch (s). */
  readonly maximumBatchingWindowSeconds: number;
  /** Most batches in flight at once (ScalingConfig.MaximumConcurrency). */
  readonly maximumConcurrency: number;
  /** FunctionResponseTypes includes ReportBatchItemFailures. */
  readonly reportBatchItemFailures: boolean;
}

export interface PollerDeps {
  /** Signed as the function's execution role: Lambda's event source mapping polls with it. */
  readonly sqs: SQSClient;
  readonly region: string;
  /** Long-poll wait (s); short locally so that stopping is quick. */
  readonly waitTimeSeconds: number;
  readonly log: (line: string) => void;
}

/** A limit on batches in flight. */
class Slots {
  private used = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(private readonly size: number) {}
  acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.used--;
  }
}

export class SqsEventSourcePoller {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly batches = new Set<Promise<void>>();
  private readonly slots: Slots;
  private outage = false;
  private paused: { parked: Promise<void>; park: () => void; resume: Promise<void>; release: () => void } | undefined;

  constructor(
    readonly spec: EventSourceMappingSpec,
    private readonly fn: LambdaFunction,
    private readonly deps: PollerDeps,
  ) {
    this.slots = new Slots(Math.max(1, spec.maximumConcurrency));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.pollLoop();
  }

  /**
   * Stops receiving (batches already running go on) and resolves once no receive is in flight,
   * so that messages sent from now on wait in the queue: a backlog, as a busy queue has (`npm run
   * cost` uses it to measure full batches). `resume()` lets the poller go on.
   */
  pause(): Promise<void> {
    if (!this.paused) {
      let park = () => {};
      let release = () => {};
      const parked = new Promise<void>((r) => (park = r));
      const resume = new Promise<void>((r) => (release = r));
      this.paused = { parked, park, resume, release };
      if (!this.running) park();
    }
    return this.paused.parked;
  }

  resume(): void {
    const paused = this.paused;
    this.paused = undefined;
    paused?.park();
    paused?.release();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resume();
    this.abort.abort();
    await this.loop;
    // Batches still running end when their function is stopped; do not wait for slow handlers.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.batches]), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
  }

  private async pollLoop(): Promise<void> {
    await this.checkQueueAccess();
    let failures = 0;
    while (this.running) {
      if (this.paused) {
        this.paused.park();
        await this.paused.resume;
        continue;
      }
      await this.slots.acquire();
      if (!this.running) {
        this.slots.release();
        break;
      }
      if (this.paused) {
        this.slots.release();
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.receiveBatch();
        failures = 0;
        if (this.outage) {
          this.outage = false;
          this.deps.log(`✓ ${this.fn.spec.displayName}: polling ${queueName(this.spec.queueUrl)} again`);
        }
      } catch (error) {
        this.slots.release();
        if (!this.running) break;
        failures++;
        if (!this.outage) {
          this.outage = true;
          this.deps.log(`! ${this.fn.spec.displayName}: cannot poll ${queueName(this.spec.queueUrl)} (${errorMessage(error)}); retrying`);
        }
        await sleep(Math.min(100 * 2 ** failures, 2000));
        continue;
      }
      if (messages.length === 0) {
        this.slots.release();
        continue;
      }
      const batch = this.process(messages).finally(() => {
        this.slots.release();
        this.batches.delete(batch);
      });
      this.batches.add(batch);
    }
  }

  /**
   * Lambda reads the queue's attributes with the function's role when the mapping is created (and
   * refuses a role that cannot): a role without sqs:GetQueueAttributes fails there, not later.
   */
  private async checkQueueAccess(): Promise<void> {
    try {
      await this.deps.sqs.send(new GetQueueAttributesCommand({ QueueUrl: this.spec.queueUrl, AttributeNames: ['VisibilityTimeout'] }), { abortSignal: this.abort.signal });
    } catch (error) {
      if (this.running) this.deps.log(`! ${this.fn.spec.displayName}: the event source mapping cannot read ${queueName(this.spec.queueUrl)} (${errorMessage(error)}); on AWS the mapping would not be created`);
    }
  }

  /** Up to BatchSize records: one receive, or several within the batching window. */
  private async receiveBatch(): Promise<Message[]> {
    const messages: Message[] = [];
    const deadline = Date.now() + this.spec.maximumBatchingWindowSeconds * 1000;
    do {
      const wanted = Math.min(10, this.spec.batchSize - messages.length);
      const out = await this.deps.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.spec.queueUrl,
          MaxNumberOfMessages: wanted,
          WaitTimeSeconds: messages.length === 0 ? this.deps.waitTimeSeconds : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: this.abort.signal },
      );
      const received = out.Messages ?? [];
      messages.push(...received);
      if (received.length === 0 && messages.length > 0) break;
    } while (messages.length > 0 && messages.length < this.spec.batchSize && Date.now() < deadline && this.running);
    return messages;
  }

  private async process(messages: Message[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    let result;
    try {
      result = await this.fn.invoke(event);
    } catch (error) {
      // The runtime is stopping; the messages come back after their visibility timeout.
      if (this.running) this.deps.log(`! ${this.fn.spec.displayName}: could not invoke (${errorMessage(error)})`);
      return;
    }
    if (!result.ok) {
      // The whole batch failed: delete nothing; SQS makes the messages visible again.
      this.deps.log(`! ${this.fn.spec.displayName}: batch of ${messages.length} failed (${result.error.errorType}: ${result.error.errorMessage}); the messages return after their visibility timeout`);
      return;
    }
    const failed = this.failedIds(result.payload, messages);
    if (failed === 'all') {
      this.deps.log(`! ${this.fn.spec.displayName}: invalid batchItemFailures in the response; the whole batch is treated as failed`);
      return;
    }
    const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
    await this.deleteAll(done);
  }

  /** Lambda's rules for a partial batch response: an unknown or empty identifier fails the batch. */
  private failedIds(payload: unknown, messages: Message[]): Set<string> | 'all' {
    if (!this.spec.reportBatchItemFailures || payload === null || typeof payload !== 'object') return new Set();
    const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) return new Set();
    if (!Array.isArray(failures)) return 'all';
    const known = new Set(messages.map((m) => m.MessageId));
    const ids = new Set<string>();
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || id === '' || !known.has(id)) return 'all';
      ids.add(id);
    }
    return ids;
  }

  private async deleteAll(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const entries = chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! }));
      // A receipt stays valid while the message is invisible: keep trying through short outages.
      for (let attempt = 0; ; attempt++) {
        try {
          const out = await this.deps.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.spec.queueUrl, Entries: entries }));
          for (const f of out.Failed ?? []) this.deps.log(`! ${this.fn.spec.displayName}: could not delete a processed message (${f.Code}: ${f.Message})`);
          break;
        } catch (error) {
          if (attempt >= 60 || !this.running) {
            this.deps.log(`! ${this.fn.spec.displayName}: gave up deleting ${chunk.length} processed message(s) (${errorMessage(error)}); they will be delivered again`);
            break;
          }
          await sleep(Math.min(100 * 2 ** attempt, 1000));
        }
      }
    }
  }

  private toRecord(m: Message): SQSRecord {
    const attrs = m.Attributes ?? {};
    return {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
        SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
        SenderId: attrs.SenderId ?? '000000000000',
        ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attrs.SequenceNumber ? { SequenceNumber: attrs.SequenceNumber } : {}),
        ...(attrs.MessageGroupId ? { MessageGroupId: attrs.MessageGroupId } : {}),
        ...(attrs.MessageDeduplicationId ? { MessageDeduplicationId: attrs.MessageDeduplicationId } : {}),
        ...(attrs.AWSTraceHeader ? { AWSTraceHeader: attrs.AWSTraceHeader } : {}),
      },
      messageAttributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, lambdaAttribute(v)])),
      md5OfBody: m.MD5OfBody ?? '',
      ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: this.spec.queueArn,
      awsRegion: this.deps.region,
    };
  }
}

/** Lambda's shape of a message attribute: camelCase, binary values in base64. */
function lambdaAttribute(v: MessageAttributeValue): SQSRecord['messageAttributes'][string] {
  const b64 = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('base64') : undefined);
  return {
    ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
    ...(v.BinaryValue !== undefined ? { binaryValue: b64(v.BinaryValue) } : {}),
    stringListValues: v.StringListValues ?? [],
    binaryListValues: (v.BinaryListValues ?? []).map((b) => b64(b)!),
    dataType: (v.DataType ?? 'String') as SQSRecord['messageAttributes'][string]['dataType'],
  };
}

function queueName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

