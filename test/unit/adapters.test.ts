import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { QueueSendError, SqsJobQueue, SqsParkingLot } from '../../lambdas/adapters/job-queue';
import { ConcurrentModificationError, DynamoSubscriptionStore, SubscriptionExistsError, SubscriptionNotFoundError } from '../../lambdas/adapters/subscription-store';
import { buildJob, PARKED_ATTRIBUTES, type DeliveryJob } from '../../lambdas/core/job';
import { newSecret } from '../../lambdas/core/subscriptions';

const sqsMock = mockClient(SQSClient);
const ddbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => {
  sqsMock.reset();
  ddbMock.reset();
});

function jobs(n: number): DeliveryJob[] {
  return Array.from({ length: n }, (_, i) =>
    buildJob({ eventId: 'evt-1', event: 'sales_order.status.changed', entityKey: 'salesOrder', tenantId: 't', oldStatus: 'a', newStatus: 'b', entity: { uuid: 'u', number: null, externalId: null }, time: 'now' }, `sub_${i}`, '{}'),
  );
}

const noWait = { retries: 3, backoffMs: () => 0 };

describe('SQS job queue', () => {
  it('sends 10 per SendMessageBatch call, all calls at once', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
      return { Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [] };
    });
    await new SqsJobQueue(new SQSClient({}), 'https://sqs/q', noWait).enqueue(jobs(25));
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 5]);
    expect(maxInFlight).toBe(3);
    const sentIds = calls.flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!).subscriptionId));
    expect(new Set(sentIds).size).toBe(25);
  });

  it('sends again only the entries SQS failed', async () => {
    const all = jobs(3);
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: all[0]!.deliveryId, MessageId: '1', MD5OfMessageBody: 'x' }], Failed: [{ Id: all[1]!.deliveryId, Code: 'InternalError', SenderFault: false }, { Id: all[2]!.deliveryId, Code: 'ServiceUnavailable', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });
    await new SqsJobQueue(new SQSClient({}), 'https://sqs/q', noWait).enqueue(all);
    const second = sqsMock.commandCalls(SendMessageBatchCommand)[1]!.args[0].input.Entries!.map((e) => e.Id);
    expect(second).toEqual([all[1]!.deliveryId, all[2]!.deliveryId]);
  });

  it('retries a throttled call as a whole', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ Successful: [], Failed: [] });
    await new SqsJobQueue(new SQSClient({}), 'https://sqs/q', noWait).enqueue(jobs(4));
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[1]!.args[0].input.Entries).toHaveLength(4);
  });

  it('fails with the ids still unsent after the bounded retries', async () => {
    const all = jobs(2);
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: all[0]!.deliveryId, MessageId: '1', MD5OfMessageBody: 'x' }], Failed: [] });
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input) => ({
      Successful: [],
      Failed: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false, Message: 'boom' })),
    }));
    const error = await new SqsJobQueue(new SQSClient({}), 'https://sqs/q', { retries: 2, backoffMs: () => 0 }).enqueue(all).catch((e) => e);
    expect(error).toBeInstanceOf(QueueSendError);
    expect(error.message).toContain('2 of 2 messages were not accepted by SQS: InternalError: boom');
    expect(error.failedIds).toEqual(all.map((j) => j.deliveryId));
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('does not retry an entry SQS refused as the sender\'s fault', async () => {
    const all = jobs(1);
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: all[0]!.deliveryId, Code: 'InvalidMessageContents', SenderFault: true }] });
    await expect(new SqsJobQueue(new SQSClient({}), 'https://sqs/q', noWait).enqueue(all)).rejects.toThrow('InvalidMessageContents');
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('sets the visibility of one message', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    await new SqsJobQueue(new SQSClient({}), 'https://sqs/q', noWait).changeVisibility('rh-1', 600);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input).toEqual({ QueueUrl: 'https://sqs/q', ReceiptHandle: 'rh-1', VisibilityTimeout: 600 });
  });

  it('parks a job with its original body and the reason as attributes', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
    await new SqsParkingLot(new SQSClient({}), 'https://sqs/dlq').parkJob('{"v":1}', 'failed 5 attempts; last: HTTP 500', 5, new Date('2026-11-28T10:00:00Z'));
    const input = sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(input.QueueUrl).toBe('https://sqs/dlq');
    expect(input.MessageBody).toBe('{"v":1}');
    expect(input.MessageAttributes).toEqual({
      [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'failed 5 attempts; last: HTTP 500' },
      [PARKED_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: '5' },
      [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: '2026-11-28T10:00:00.000Z' },
    });
  });

  it('parks an oversized rejected event as truncated text instead of losing it', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
    await new SqsParkingLot(new SQSClient({}), 'https://sqs/dlq').parkEvent({ kind: 'rejected-event', reason: 'too big', rejectedAt: 'now', event: { detail: 'x'.repeat(300_000) } });
    const body = JSON.parse(sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!);
    expect(body).toMatchObject({ kind: 'rejected-event', reason: 'too big', eventTruncated: true });
    expect(body.event.length).toBeLessThanOrEqual(240_000);
  });
});

describe('DynamoDB subscription store', () => {
  const store = () => new DynamoSubscriptionStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'subs');
  const item = (id: string) => ({ tenantId: 't', subscriptionId: id, url: 'https://e.com', events: ['*'], secret: newSecret(), state: 'active' });

  it('reads every page of a tenant and sets invalid items apart', async () => {
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [item('sub_1'), { tenantId: 't', subscriptionId: 'sub_bad', events: ['*'] }], LastEvaluatedKey: { tenantId: 't', subscriptionId: 'sub_bad' } })
      .resolvesOnce({ Items: [item('sub_2')] });
    const { subscriptions, invalid } = await store().listByTenant('t');
    expect(subscriptions.map((s) => s.subscriptionId)).toEqual(['sub_1', 'sub_2']);
    expect(invalid).toEqual([{ subscriptionId: 'sub_bad', reason: expect.stringContaining('url') }]);
    expect(ddbMock.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ tenantId: 't', subscriptionId: 'sub_bad' });
  });

  it('passes throttling errors up, so the caller retries', async () => {
    ddbMock.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(store().get('t', 'sub_1')).rejects.toThrow('slow down');
  });

  it('never overwrites an existing subscription on create', async () => {
    ddbMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    await expect(store().create(item('sub_1') as never)).rejects.toBeInstanceOf(SubscriptionExistsError);
    expect(ddbMock.commandCalls(PutCommand)[0]!.args[0].input.ConditionExpression).toBe('attribute_not_exists(subscriptionId)');
  });

  it('updates only existing subscriptions, setting and removing attributes', async () => {
    ddbMock.on(UpdateCommand).resolves({ Attributes: { ...item('sub_1'), state: 'active' } });
    await store().update('t', 'sub_1', { state: 'active', disabledReason: null, updatedAt: 'now' });
    const input = ddbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_exists(subscriptionId)');
    expect(input.UpdateExpression).toBe('SET #a0 = :v0, #a2 = :v2 REMOVE #a1');
    expect(input.ExpressionAttributeNames).toEqual({ '#a0': 'state', '#a1': 'disabledReason', '#a2': 'updatedAt' });

    ddbMock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'missing', $metadata: {} }));
    await expect(store().update('t', 'sub_x', { state: 'paused' })).rejects.toBeInstanceOf(SubscriptionNotFoundError);
  });

  it('disabling a subscription that was deleted meanwhile is not an error', async () => {
    ddbMock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'missing', $metadata: {} }));
    ddbMock.on(GetCommand).resolves({});
    await expect(store().disable('t', 'sub_gone', '410', new Date(), 'https://e.com/hook')).resolves.toBe('not-active');
  });
});

describe('DynamoDB subscription store: compare-and-set', () => {
  const store = () => new DynamoSubscriptionStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'subs');

  it('writes only while the expected values still hold, and says when they changed meanwhile', async () => {
    ddbMock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
    ddbMock.on(GetCommand).resolves({ Item: { tenantId: 't', subscriptionId: 'sub_1', url: 'https://e.com', events: ['*'], secret: newSecret(), state: 'active' } });
    const error = await store().update('t', 'sub_1', { secret: newSecret() }, { secret: 'whsec_old' }).catch((e) => e);
    expect(error).toBeInstanceOf(ConcurrentModificationError);
    const input = ddbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_exists(subscriptionId) AND #e0 = :e0');
    expect(input.ExpressionAttributeValues).toMatchObject({ ':e0': 'whsec_old' });
  });
});
