/**
 * The SQS event source mapping, locally: Lambda's SQSEvent shape, delete on success, partial
 * batch failures, whole-batch failures, concurrency, and emulator faults.
 */
import fs from 'node:fs';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { LambdaFunction } from '../../local/lambda-runner';
import { type EventSourceMappingSpec, SqsEventSourcePoller } from '../../local/poller';
import { type Fixture, type QueueFixture, REGION, fixture, handlerSpec, queues, sleep } from './fixtures';

jest.setTimeout(30_000);

let f: Fixture;
let q: QueueFixture;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  f = await fixture();
  // Short visibility so failed messages come back within the test.
  q = await queues(f, {
    Shape: { VisibilityTimeout: 1 },
    Partial: { VisibilityTimeout: 1 },
    Throwing: { VisibilityTimeout: 1 },
    Invalid: { VisibilityTimeout: 1 },
    Busy: { VisibilityTimeout: 30 },
    Faulty: { VisibilityTimeout: 30 },
    Cut: { VisibilityTimeout: 30 },
  });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await q?.stop();
  f?.cleanup();
});

/**
 * Runs a poller over queue `name` with a handler that records what it got; the handler source
 * receives the event and returns the response.
 */
function poll(name: string, handlerBody: string, overrides: Partial<EventSourceMappingSpec> = {}, logs: string[] = []) {
  const queue = q.queues.get(name)!;
  const fn = new LambdaFunction(
    handlerSpec(f, `const seen = []; exports.handler = async (event) => { ${handlerBody} }`, { maxEnvironments: 10 }),
    f.hosts.lambdaHost,
    () => undefined,
  );
  const poller = new SqsEventSourcePoller(
    { logicalId: name, queueUrl: queue.url, queueArn: queue.arn, batchSize: 10, maximumBatchingWindowSeconds: 0, maximumConcurrency: 10, reportBatchItemFailures: true, ...overrides },
    fn,
    { sqs: q.sqs, region: REGION, waitTimeSeconds: 1, log: (l) => logs.push(l) },
  );
  poller.start();
  stops.push(async () => {
    await poller.stop();
    await fn.stop();
  });
  return { queue, fn };
}

async function depth(queueUrl: string): Promise<number> {
  const out = await q.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible);
}

async function send(queueUrl: string, body: string, attributes = {}): Promise<string> {
  const out = await q.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
  return out.MessageId!;
}

test('the handler gets an SQSEvent shaped like Lambda’s, and a successful batch is deleted', async () => {
  const file = `${f.dir}/shape.json`;
  const { queue } = poll('Shape', `require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify(event)); return {};`);
  const messageId = await send(q.queues.get('Shape')!.url, 'hello', {
    kind: { DataType: 'String', StringValue: 'greeting' },
    count: { DataType: 'Number', StringValue: '3' },
    blob: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
  });
  await waitUntil(async () => (await depth(queue.url)) === 0 && fs.existsSync(file), 'the message was not processed and deleted');
  const event = JSON.parse(fs.readFileSync(file, 'utf8')) as { Records: SQSRecord[] };
  expect(event.Records).toHaveLength(1);
  const record = event.Records[0]!;
  expect(record).toMatchObject({
    messageId,
    body: 'hello',
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: REGION,
    md5OfBody: '5d41402abc4b2a76b9719d911017c592',
    attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String), SentTimestamp: expect.stringMatching(/^\d+$/), ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/) },
    messageAttributes: {
      kind: { stringValue: 'greeting', stringListValues: [], binaryListValues: [], dataType: 'String' },
      count: { stringValue: '3', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      blob: { binaryValue: Buffer.from('bytes').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    },
  });
  expect(record.receiptHandle).toBeTruthy();
});

test('partial batch failures: only the reported messages come back, after their visibility timeout', async () => {
  const log = `${f.dir}/partial.log`;
  const { queue } = poll(
    'Partial',
    `const fs = require('fs');
     for (const r of event.Records) fs.appendFileSync(${JSON.stringify(log)}, r.body + ':' + r.attributes.ApproximateReceiveCount + '\\n');
     const failed = event.Records.filter((r) => r.body === 'bad' && r.attributes.ApproximateReceiveCount === '1');
     return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };`,
  );
  await q.sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['ok1', 'bad', 'ok2'].map((b, i) => ({ Id: String(i), MessageBody: b })) }));
  await waitUntil(async () => (await depth(queue.url)) === 0 && readLines(log).includes('bad:2'), 'the failed message did not come back');
  const lines = readLines(log);
  expect(lines.filter((l) => l.startsWith('ok'))).toEqual(expect.arrayContaining(['ok1:1', 'ok2:1']));
  expect(lines.filter((l) => l.startsWith('ok'))).toHaveLength(2);
  expect(lines.filter((l) => l.startsWith('bad'))).toEqual(['bad:1', 'bad:2']);
});

test('a handler that throws deletes nothing: the whole batch comes back', async () => {
  const log = `${f.dir}/throwing.log`;
  const { queue } = poll(
    'Throwing',
    `const fs = require('fs');
     for (const r of event.Records) fs.appendFileSync(${JSON.stringify(log)}, r.body + ':' + r.attributes.ApproximateReceiveCount + '\\n');
     if (event.Records.some((r) => r.attributes.ApproximateReceiveCount === '1')) throw new Error('first time fails');
     return {};`,
  );
  await q.sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: ['a', 'b'].map((b, i) => ({ Id: String(i), MessageBody: b })) }));
  await waitUntil(async () => (await depth(queue.url)) === 0, 'the batch was not processed on its second receive');
  expect(readLines(log).sort()).toEqual(['a:1', 'a:2', 'b:1', 'b:2']);
});

test('an unknown itemIdentifier fails the whole batch, as Lambda does', async () => {
  const logs: string[] = [];
  const log = `${f.dir}/invalid.log`;
  const { queue } = poll(
    'Invalid',
    `require('fs').appendFileSync(${JSON.stringify(log)}, event.Records.map((r) => r.attributes.ApproximateReceiveCount).join(',') + '\\n');
     return event.Records[0].attributes.ApproximateReceiveCount === '1' ? { batchItemFailures: [{ itemIdentifier: 'no-such-id' }] } : {};`,
    {},
    logs,
  );
  await send(queue.url, 'x');
  await waitUntil(async () => (await depth(queue.url)) === 0, 'the message did not come back');
  expect(readLines(log)).toEqual(['1', '2']);
  expect(logs.some((l) => /invalid batchItemFailures/.test(l))).toBe(true);
});

test('MaximumConcurrency bounds the batches in flight', async () => {
  const log = `${f.dir}/busy.log`;
  const { queue } = poll(
    'Busy',
    `const fs = require('fs'); fs.appendFileSync(${JSON.stringify(log)}, 'start ' + Date.now() + '\\n');
     await new Promise((r) => setTimeout(r, 400));
     fs.appendFileSync(${JSON.stringify(log)}, 'end ' + Date.now() + '\\n'); return {};`,
    { batchSize: 1, maximumConcurrency: 2 },
  );
  await q.sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: [1, 2, 3, 4, 5, 6].map((n) => ({ Id: String(n), MessageBody: String(n) })) }));
  await waitUntil(async () => (await depth(queue.url)) === 0, 'the six messages were not all processed');
  let inFlight = 0;
  let most = 0;
  const events = readLines(log).map((l) => l.split(' ') as [string, string]).sort((a, b) => Number(a[1]) - Number(b[1]) || (a[0] === 'end' ? -1 : 1));
  for (const [kind] of events) {
    inFlight += kind === 'start' ? 1 : -1;
    most = Math.max(most, inFlight);
  }
  expect(most).toBe(2);
});

test('an SQS outage pauses polling; messages are processed after it, none is lost or hidden', async () => {
  const logs: string[] = [];
  const { queue } = poll('Faulty', `return {};`, {}, logs);
  await q.emulators.faults.sqs.down();
  await sleep(1_500); // long polls in flight are cut
  await q.emulators.faults.sqs.up();
  await send(queue.url, 'after the outage');
  // Processed at once, not after the 30 s visibility timeout of a receive lost in the outage.
  await waitUntil(async () => (await depth(queue.url)) === 0, 'the message sent after the outage was not processed', 5_000);
  expect(logs.some((l) => /cannot poll Faulty/.test(l))).toBe(true);
  expect(logs.some((l) => /polling Faulty again/.test(l))).toBe(true);
});

test('a long poll cut by an outage does not take messages for nobody', async () => {
  // A message that becomes visible while SQS is down, and a long poll that was waiting for it.
  const queue = q.queues.get('Cut')!;
  await q.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'delayed', DelaySeconds: 1 }));
  const pending = q.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 5 })).catch((e: Error) => e);
  await sleep(200);
  await q.emulators.faults.sqs.down();
  expect(await pending).toBeInstanceOf(Error);
  await sleep(1_300);
  await q.emulators.faults.sqs.up();
  // Receivable at once, as never received (not hidden for the 30 s visibility timeout).
  const out = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
  expect(out.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['delayed', '1']]);
});

function readLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function waitUntil(check: () => Promise<boolean>, message: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${message}`);
    await sleep(50);
  }
}
