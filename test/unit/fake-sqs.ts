/**
 * A fake SQS that refuses what the real one refuses: a message body or String attribute with a
 * character outside `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF`
 * (InvalidMessageContents), or a message over 256 KiB (body and attributes, UTF-8).
 * Written independently of lambdas/core/sqs-text.ts, from the SQS documentation.
 */
import { InvalidMessageContents, SendMessageBatchCommand, SendMessageCommand, SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsJobQueue, SqsParkingLot } from '../../lambdas/adapters/job-queue';
import type { FanOutPorts } from '../../lambdas/core/route-event';
import { noMetrics, silentLog } from '../../lambdas/core/ports';
import { newSecret } from '../../lambdas/core/subscriptions';

export interface SentMessage {
  readonly queueUrl: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
}

function allowed(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

/** Why SQS would refuse this text, or null. `for…of` yields a lone surrogate as its own code point. */
export function sqsRefuses(text: string): string | null {
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (!allowed(cp)) return `Invalid binary character '#x${cp.toString(16).toUpperCase()}' was found in the message body, the set of allowed characters is available here: https://www.w3.org/TR/REC-xml/#charsets`;
  }
  return null;
}

function check(body: string, attributes: Record<string, MessageAttributeValue> = {}): string | null {
  let bytes = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    const problem = sqsRefuses(value.StringValue ?? '');
    if (problem) return problem;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  if (bytes > 256 * 1024) return `message must be shorter than 262144 bytes (${bytes})`;
  return sqsRefuses(body);
}

export function fakeSqs() {
  const mock = mockClient(SQSClient);
  const sent: SentMessage[] = [];
  const refused: string[] = [];
  mock.on(SendMessageCommand).callsFake(async (input: { QueueUrl: string; MessageBody: string; MessageAttributes?: Record<string, MessageAttributeValue> }) => {
    const problem = check(input.MessageBody, input.MessageAttributes);
    if (problem) {
      refused.push(problem);
      throw new InvalidMessageContents({ message: problem, $metadata: { httpStatusCode: 400 } });
    }
    sent.push({ queueUrl: input.QueueUrl, body: input.MessageBody, attributes: input.MessageAttributes ?? {} });
    return { MessageId: `m${sent.length}` };
  });
  mock.on(SendMessageBatchCommand).callsFake(async (input: { QueueUrl: string; Entries: { Id: string; MessageBody: string; MessageAttributes?: Record<string, MessageAttributeValue> }[] }) => {
    const Successful: { Id: string; MessageId: string; MD5OfMessageBody: string }[] = [];
    const Failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
    for (const entry of input.Entries) {
      const problem = check(entry.MessageBody, entry.MessageAttributes);
      if (problem) {
        refused.push(problem);
        Failed.push({ Id: entry.Id, Code: 'InvalidMessageContents', Message: problem, SenderFault: true });
      } else {
        sent.push({ queueUrl: input.QueueUrl, body: entry.MessageBody, attributes: entry.MessageAttributes ?? {} });
        Successful.push({ Id: entry.Id, MessageId: `m${sent.length}`, MD5OfMessageBody: 'x' });
      }
    }
    return { Successful, Failed };
  });
  return { mock, client: new SQSClient({ region: 'us-east-1' }), sent, refused };
}

export const QUEUE = 'https://sqs/delivery';
export const DLQ = 'https://sqs/fan-out-dlq';

/** Fan-out's ports over the real SQS adapters and a client (the fake): one active `*` subscription. */
export function fanOutPortsOver(client: SQSClient): FanOutPorts {
  const queue = new SqsJobQueue(client, QUEUE, { retries: 0 });
  const parking = new SqsParkingLot(client, DLQ);
  return {
    subscriptionsOf: async () => ({
      subscriptions: [{ tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://example.com/hook', events: ['*'], secret: newSecret(), state: 'active' }],
      invalid: [],
    }),
    enqueue: (jobs) => queue.enqueue(jobs),
    park: (record) => parking.parkEvent(record),
    now: () => new Date('2026-11-28T10:00:00Z'),
    log: silentLog,
    metrics: noMetrics,
  };
}
