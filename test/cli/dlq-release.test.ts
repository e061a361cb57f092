/**
 * What `dlq redrive` does when SQS refuses to make held messages visible again: no emulator
 * refuses ChangeMessageVisibility on demand, so SQS is mocked here and the CLI runs in-process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { REDRIVE_VISIBILITY_SECONDS, redriveDeliveryDlq } from '../../cli/redrive';
import { main } from '../../cli/program';
import { deliveryIdFor } from '../../lambdas/core/subscriptions';

const DLQ = 'http://127.0.0.1:1/000000000000/statushooks-delivery-dlq';
const QUEUE = 'http://127.0.0.1:1/000000000000/statushooks-delivery';

// The SDK's advice about future Node versions is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const sqsMock = mockClient(SQSClient);
// Redrive reads the subscription of each job it would move (only active ones move): this one is active.
const dbMock = mockClient(DynamoDBDocumentClient);
dbMock.on(GetCommand).resolves({
  Item: { tenantId: 'acme-shop', subscriptionId: 'sub_a', url: 'https://hooks.example.com/in', events: ['*'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', state: 'active', createdAt: '2025-11-28T10:00:00.000Z', updatedAt: '2025-11-28T10:00:00.000Z' },
});

function parked(n: number, tenantId: string): Message {
  const eventId = `evt-${n}`;
  const job = {
    v: 1,
    deliveryId: deliveryIdFor(eventId, 'sub_a'),
    eventId,
    event: 'return_order.status.changed',
    tenantId,
    subscriptionId: 'sub_a',
    body: '{"event":"return_order.status.changed"}',
    occurredAt: '2025-11-28T10:00:00.000Z',
  };
  return { MessageId: `m-${n}`, ReceiptHandle: `rh-${n}`, Body: JSON.stringify(job), Attributes: { SentTimestamp: String(Date.now()) } };
}

beforeEach(() => {
  sqsMock.reset();
  // Three parked jobs: one of acme-shop (moved), two of globex (not selected, held, then released).
  sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [parked(1, 'acme-shop'), parked(2, 'globex'), parked(3, 'globex')] }).resolves({ Messages: [] });
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: 'm0', MessageId: 'x', MD5OfMessageBody: '' }], Failed: [] });
  sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: 'm0' }], Failed: [] });
  // SQS makes one of the two held messages visible again and refuses the other.
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: 'm0' }], Failed: [{ Id: 'm1', Code: 'ReceiptHandleIsInvalid', SenderFault: true, Message: 'expired' }] });
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } });
});

afterAll(() => sqsMock.restore());

test('the redrive report counts the messages it could not make visible again', async () => {
  const report = await redriveDeliveryDlq(new SQSClient({ region: 'us-east-1' }), DLQ, QUEUE, { tenant: 'acme-shop' });

  expect(report.moved.map((m) => m.id)).toEqual([deliveryIdFor('evt-1', 'sub_a')]);
  expect(report.notSelected).toBe(2);
  expect(report.unreleased).toBe(1);
  // Released: only the two held messages, with visibility 0.
  const released = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
  expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual([
    ['rh-2', 0],
    ['rh-3', 0],
  ]);
});

test('dlq redrive warns on stderr about messages it could not release, with the hold time of a redrive', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'statushooks-cli-release-'));
  const devFile = path.join(dir, 'dev.json');
  writeFileSync(
    devFile,
    JSON.stringify({
      region: 'us-east-1',
      endpoints: { eventbridge: 'http://127.0.0.1:1', dynamodb: 'http://127.0.0.1:1', sqs: 'http://127.0.0.1:1' },
      DeliveryDlqUrl: DLQ,
      DeliveryQueueUrl: QUEUE,
      SubscriptionsTableName: 'subscriptions',
    }),
  );
  const stderr: string[] = [];
  const stdout: string[] = [];
  const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (stderr.push(String(chunk)), true));
  const outSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  try {
    const { code } = await main(['node', 'statushooks', 'dlq', 'redrive', '--tenant', 'acme-shop', '--local', devFile]);

    expect(code).toBe(0);
    expect(stderr.join('')).toBe(`warning: 1 message(s) could not be made visible again; they reappear by themselves within ${REDRIVE_VISIBILITY_SECONDS}s\n`);
    expect(REDRIVE_VISIBILITY_SECONDS).toBe(300);
    expect(stdout.join('')).toContain('moved 1 job from the delivery DLQ to the delivery queue');
  } finally {
    errSpy.mockRestore();
    outSpy.mockRestore();
    process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('redrive sends through the job queue', () => {
  test('an entry SQS refuses for a moment is tried again and moved; only then is it deleted from the DLQ', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [{ Id: 'm0', Code: 'InternalError', SenderFault: false, Message: 'try again' }] })
      .resolves({ Successful: [{ Id: 'm0', MessageId: 'x', MD5OfMessageBody: '' }], Failed: [] });

    const report = await redriveDeliveryDlq(new SQSClient({ region: 'us-east-1' }), DLQ, QUEUE, { tenant: 'acme-shop' });

    expect(report.moved.map((m) => m.id)).toEqual([deliveryIdFor('evt-1', 'sub_a')]);
    expect(report.failed).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    const deleted = sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(deleted.map((e) => e.ReceiptHandle)).toEqual(['rh-1']);
  });

  test('of two selected jobs, the one SQS refuses as malformed stays parked and the accepted one is deleted', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [parked(1, 'acme-shop'), parked(4, 'acme-shop')] }).resolves({ Messages: [] });
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: 'm1', MessageId: 'x', MD5OfMessageBody: '' }], Failed: [{ Id: 'm0', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' }] });

    const report = await redriveDeliveryDlq(new SQSClient({ region: 'us-east-1' }), DLQ, QUEUE, { tenant: 'acme-shop' });

    expect(report.moved.map((m) => m.id)).toEqual([deliveryIdFor('evt-4', 'sub_a')]);
    expect(report.failed).toEqual([{ messageId: 'm-1', id: deliveryIdFor('evt-1', 'sub_a'), reason: 'InvalidMessageContents: bad' }]);
    // A sender fault is not retried.
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    const deleted = sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(deleted.map((e) => e.ReceiptHandle)).toEqual(['rh-4']);
  });
});
