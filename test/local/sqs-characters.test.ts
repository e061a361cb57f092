/**
 * The local SQS accepts and refuses the characters AWS does: everything in
 * #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF, in message bodies and in
 * attribute values; nothing else (U+FFFE, U+FFFF, lone surrogates, control characters).
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { type Fixture, type QueueFixture, fixture, queues } from './fixtures';

jest.setTimeout(30_000);

let f: Fixture;
let q: QueueFixture;
let url: string;

beforeAll(async () => {
  f = await fixture();
  q = await queues(f, { Characters: {} });
  url = q.queues.get('Characters')!.url;
});

afterAll(async () => {
  await q?.stop();
  f?.cleanup();
});

async function receiveOne() {
  const out = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
  expect(out.Messages ?? []).toHaveLength(1);
  return out.Messages![0]!;
}

const ACCEPTED: Array<[string, string]> = [
  ['an emoji (above U+FFFF)', '{"newStatus":"shipped 📦"}'],
  ['the highest code point U+10FFFF', 'x\u{10FFFF}'],
  ['U+FFFD and tab, LF, CR', '\uFFFD\t\n\r'],
];
const REFUSED: Array<[string, string]> = [
  ['U+FFFE', 'a\uFFFEb'],
  ['U+FFFF', 'a\uFFFFb'],
  ['a lone high surrogate', 'a\uD83Db'],
  ['a lone low surrogate', 'a\uDCE6b'],
  ['a control character', 'a\u0001b'],
];

test.each(ACCEPTED)('a body with %s is accepted and received byte for byte', async (_name, body) => {
  await q.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
  const message = await receiveOne();
  expect(Buffer.from(message.Body!, 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
  await q.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));
});

test.each(REFUSED)('a body with %s is refused as InvalidMessageContents, as AWS does', async (_name, body) => {
  await expect(q.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }))).rejects.toMatchObject({ name: expect.stringMatching(/InvalidMessageContents$/) });
});

test('attribute values follow the same rule: an emoji is kept, U+FFFF is refused by the attribute’s name', async () => {
  await q.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm', MessageAttributes: { status: { DataType: 'String', StringValue: 'shipped 📦' } } }));
  const message = await receiveOne();
  expect(message.MessageAttributes?.status?.StringValue).toBe('shipped 📦');
  await q.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle! }));

  const refused = q.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm', MessageAttributes: { reason: { DataType: 'String', StringValue: 'bad \uFFFF' } } }));
  await expect(refused).rejects.toMatchObject({ name: expect.stringMatching(/InvalidParameterValue$/), message: expect.stringContaining("'reason'") });
});

test('SendMessageBatch refuses the bad entries one by one and queues the good ones', async () => {
  const out = await q.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: 'emoji', MessageBody: 'shipped 📦' },
        { Id: 'badBody', MessageBody: 'a\uFFFE' },
        { Id: 'badAttribute', MessageBody: 'ok', MessageAttributes: { a: { DataType: 'String', StringValue: '\uD800' } } },
      ],
    }),
  );
  expect(out.Successful?.map((s) => s.Id)).toEqual(['emoji']);
  expect(Object.fromEntries((out.Failed ?? []).map((x) => [x.Id, x.Code]))).toEqual({ badBody: 'InvalidMessageContents', badAttribute: 'InvalidParameterValue' });
  expect((await receiveOne()).Body).toBe('shipped 📦');
});
