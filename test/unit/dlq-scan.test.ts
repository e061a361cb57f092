/**
 * How a DLQ scan ends (cli/dlq-queue.ts): at an empty queue; early, said so, when the messages it
 * holds come back (it would go round the queue again) or are about to; and what a discard whose
 * scan stopped early reports. SQS is mocked here; the listings, redrives and discards over a real
 * SQS emulator are in test/cli/dlq.test.ts.
 */
import { mockClient } from 'aws-sdk-client-mock';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { discardLines, discardWarnings } from '../../cli/commands/dlq';
import { discardParked } from '../../cli/discard';
import { scan, type ScanProgress } from '../../cli/dlq-queue';

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

const message = (n: number): Message => ({ MessageId: `m-${n}`, ReceiptHandle: `r-${n}-${Math.random()}`, Body: '{}' });

async function collect(progress: ScanProgress): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of scan(new SQSClient({ region: 'us-east-1' }), 'https://sqs/q', 30, 1000, progress)) ids.push(...batch.map((m) => m.MessageId!));
  return ids;
}

test('ends at an empty queue (a short poll, then a long poll to confirm), not early', async () => {
  sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message(1), message(2)] }).resolvesOnce({ Messages: [message(3)] }).resolves({ Messages: [] });
  const progress = { stoppedEarly: false };
  expect(await collect(progress)).toEqual(['m-1', 'm-2', 'm-3']);
  expect(progress.stoppedEarly).toBe(false);
  const waits = sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.WaitTimeSeconds);
  expect(waits.slice(-2)).toEqual([0, 1]);
});

test('messages it holds that come back (the scan outlived their hold) end it, said to be early, instead of going round again', async () => {
  // SQS hands back the same two messages for ever, as a queue does whose holds ran out.
  sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: [message(1), message(2)] }));
  const progress = { stoppedEarly: false };
  expect(await collect(progress)).toEqual(['m-1', 'm-2']);
  expect(progress.stoppedEarly).toBe(true);
  expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(2);
});

test('stops before the first messages it holds become visible again, and says so', async () => {
  let n = 0;
  sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: [message(++n)] }));
  // Each receive takes 10 s of this clock: a 30 s hold allows two more before the 5 s margin.
  let clock = 0;
  const now = () => clock;
  const progress = { stoppedEarly: false };
  const ids: string[] = [];
  for await (const batch of scan(new SQSClient({ region: 'us-east-1' }), 'https://sqs/q', 30, 1000, progress, now)) {
    ids.push(...batch.map((m) => m.MessageId!));
    clock += 10_000;
  }
  expect(ids).toEqual(['m-1', 'm-2', 'm-3']);
  expect(progress.stoppedEarly).toBe(true);
});

describe('a discard whose scan stops early says so', () => {
  const yes = async () => true;
  beforeEach(() => {
    sqs.on(DeleteMessageBatchCommand).callsFake((input: { Entries: unknown[] }) => ({ Successful: input.Entries, Failed: [] }));
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '7' } });
  });

  test('--all: what it discarded, and that more may be left', async () => {
    sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: [message(1), message(2)] }));
    const report = await discardParked(new SQSClient({ region: 'us-east-1' }), 'https://sqs/q', 'delivery', { all: true }, yes);
    expect(report.discarded.map((c) => c.messageId)).toEqual(['m-1', 'm-2']);
    expect(report.scanComplete).toBe(false);
    expect(discardLines('delivery', report, 0).at(-1)).toBe('7 left in the delivery DLQ (the scan stopped early: run again for more)');
  });

  test('an id it did not reach is "not found in the part read", not "not in the DLQ"', async () => {
    sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: [message(1)] }));
    const report = await discardParked(new SQSClient({ region: 'us-east-1' }), 'https://sqs/q', 'delivery', { ids: ['m-1', 'm-9'] }, yes);
    expect(report.discarded.map((c) => c.messageId)).toEqual(['m-1']);
    expect(report.notFound).toEqual(['m-9']);
    expect(discardWarnings('delivery', report)).toEqual(['m-9 was not found in the part of the delivery DLQ read (the scan stopped early: run again to look further)']);
  });

  test('a scan that read the whole queue: complete, and a missing id is not in the DLQ', async () => {
    sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message(1), message(2)] }).resolves({ Messages: [] });
    const report = await discardParked(new SQSClient({ region: 'us-east-1' }), 'https://sqs/q', 'fan-out', { ids: ['m-2', 'm-9'] }, yes);
    expect(report.scanComplete).toBe(true);
    expect(discardWarnings('fan-out', report)).toEqual(['m-9 is not in the fan-out DLQ']);
    expect(discardLines('fan-out', report, 0).at(-1)).toBe('7 left in the fan-out DLQ');
    // m-1 was not asked for: released, not deleted.
    expect(sqs.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => e.ReceiptHandle!.split('-')[1]))).toEqual(['2']);
  });

  test('every id found before the end of the queue: complete', async () => {
    let n = 0;
    sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: [message(++n)] }));
    const report = await discardParked(new SQSClient({ region: 'us-east-1' }), 'https://sqs/q', 'delivery', { ids: ['m-2'] }, yes);
    expect(report.scanComplete).toBe(true);
    expect(report.notFound).toEqual([]);
  });
});
