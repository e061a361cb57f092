/**
 * The emulators' request counter (local/hosts/api-stats.ts), which `npm run cost` prices: the item
 * size rule against DynamoDB's documented sizes, the index-write rule, and a known sequence of
 * DynamoDB and SQS calls through the real emulators yielding exactly those counts.
 */
import { BatchWriteItemCommand, CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { type Item, type TableShape, attributeValueSize, indexWrites, itemSize, numberSize, readUnits, writeUnits } from '../../local/hosts/api-stats';
import { LOCAL_CREDENTIALS } from '../../local/emulators';
import { type Fixture, type QueueFixture, REGION, fixture, queues } from './fixtures';

describe('DynamoDB item size', () => {
  test('strings are UTF-8 bytes of name and value', () => {
    expect(itemSize({ tenantId: { S: 'acme' } })).toBe(8 + 4);
    expect(itemSize({ s: { S: 'é€😀' } })).toBe(1 + 2 + 3 + 4);
    expect(itemSize({ 'ä': { S: '' } })).toBe(2);
  });

  test('numbers: 1 byte plus 1 per two significant digits, negative +1', () => {
    expect(numberSize('0')).toBe(1);
    expect(numberSize('7')).toBe(2);
    expect(numberSize('12')).toBe(2);
    expect(numberSize('123')).toBe(3);
    expect(numberSize('1700000000')).toBe(2); // trailing zeros are not significant
    expect(numberSize('1764324000')).toBe(5);
    expect(numberSize('-12.50')).toBe(4); // 3 digits: 1 + 2, negative +1
    expect(numberSize('0.001')).toBe(2);
    expect(itemSize({ expiresAt: { N: '1764324000' } })).toBe(9 + 5);
  });

  test('binary, booleans, null, sets, lists and maps', () => {
    expect(attributeValueSize({ B: Buffer.from('abcd').toString('base64') })).toBe(4);
    expect(attributeValueSize({ BOOL: true })).toBe(1);
    expect(attributeValueSize({ NULL: true })).toBe(1);
    expect(attributeValueSize({ SS: ['a', 'bc'] })).toBe(3);
    expect(attributeValueSize({ NS: ['1', '22'] })).toBe(4);
    expect(attributeValueSize({ L: [] })).toBe(3);
    expect(attributeValueSize({ L: [{ S: 'ab' }, { NULL: true }] })).toBe(3 + (1 + 2) + (1 + 1));
    expect(attributeValueSize({ M: { k: { S: 'v' } } })).toBe(3 + 1 + 1 + 1);
  });

  test('request units: 1 KB per write unit, 4 KB per read unit (half for eventually consistent)', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(readUnits(0, false)).toBe(0.5);
    expect(readUnits(4097, false)).toBe(1);
    expect(readUnits(4097, true)).toBe(2);
  });
});

describe('index writes', () => {
  const table: TableShape = {
    TableName: 'T',
    KeySchema: [{ AttributeName: 'pk' }, { AttributeName: 'sk' }],
    GlobalSecondaryIndexes: [
      { IndexName: 'byA', KeySchema: [{ AttributeName: 'a' }], Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['p'] } },
      { IndexName: 'byB', KeySchema: [{ AttributeName: 'b' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
    ],
  };
  const base: Item = { pk: { S: 'x' }, sk: { S: 'y' }, a: { S: '1' }, p: { S: 'proj' }, other: { S: 'o' } };

  test('a new item with an index key puts one index item; without it, none', () => {
    expect(indexWrites(table, undefined, base)).toEqual([{ index: 'byA', kind: 'put', wru: 1 }]);
  });

  test('changing only unprojected attributes writes no index; a projected one updates; a key replaces', () => {
    expect(indexWrites(table, base, { ...base, other: { S: 'changed' } })).toEqual([]);
    expect(indexWrites(table, base, { ...base, p: { S: 'other' } })).toEqual([{ index: 'byA', kind: 'update', wru: 1 }]);
    expect(indexWrites(table, base, { ...base, a: { S: '2' } })).toEqual([{ index: 'byA', kind: 'replace', wru: 2 }]);
  });

  test('gaining or losing an index key puts or deletes', () => {
    expect(indexWrites(table, base, { ...base, b: { S: 'now' } })).toEqual([{ index: 'byB', kind: 'put', wru: 1 }]);
    const withoutA = Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'a'));
    expect(indexWrites(table, base, withoutA)).toEqual([{ index: 'byA', kind: 'delete', wru: 1 }]);
    expect(indexWrites(table, base, undefined)).toEqual([{ index: 'byA', kind: 'delete', wru: 1 }]);
  });
});

describe('the emulators count the calls made to them', () => {
  let f: Fixture;
  let q: QueueFixture;
  let db: DynamoDBClient;

  beforeAll(async () => {
    f = await fixture();
    q = await queues(f, { Jobs: { VisibilityTimeout: 30 } });
    db = new DynamoDBClient({ endpoint: q.emulators.endpoints.dynamodb, region: REGION, credentials: LOCAL_CREDENTIALS });
    await db.send(
      new CreateTableCommand({
        TableName: 'Log',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'tenantId', KeyType: 'HASH' }, { AttributeName: 'deliveryId', KeyType: 'RANGE' }],
        AttributeDefinitions: [
          { AttributeName: 'tenantId', AttributeType: 'S' },
          { AttributeName: 'deliveryId', AttributeType: 'S' },
          { AttributeName: 'stateKey', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [{ IndexName: 'byState', KeySchema: [{ AttributeName: 'stateKey', KeyType: 'HASH' }, { AttributeName: 'deliveryId', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
      }),
    );
    await q.emulators.stats.reset();
  }, 60_000);

  afterAll(async () => {
    db?.destroy();
    await q?.stop();
    f?.cleanup();
  });

  test('DynamoDB: calls, item sizes, WRU, index writes, RRU, conditional failures', async () => {
    const key = { tenantId: { S: 't' }, deliveryId: { S: 'd1' } };
    const big = 'x'.repeat(1500);
    // 1. a 1.5 KB item: 2 WRU, no index entry
    await db.send(new PutItemCommand({ TableName: 'Log', Item: { ...key, body: { S: big } } }));
    // 2. enters the sparse index (1 index put) and shrinks: costs by the larger size, 2 WRU
    await db.send(new UpdateItemCommand({ TableName: 'Log', Key: key, UpdateExpression: 'SET stateKey = :s REMOVE body', ExpressionAttributeValues: { ':s': { S: 't#parked' } } }));
    // 3. refused by its condition: 1 WRU, no item write
    await expect(db.send(new PutItemCommand({ TableName: 'Log', Item: key, ConditionExpression: 'attribute_not_exists(tenantId)' }))).rejects.toThrow();
    // 4. two small items in one batch
    await db.send(new BatchWriteItemCommand({ RequestItems: { Log: [{ PutRequest: { Item: { tenantId: { S: 't' }, deliveryId: { S: 'd2' } } } }, { PutRequest: { Item: { tenantId: { S: 't' }, deliveryId: { S: 'd3' } } } }] } }));
    // 5. reads
    await db.send(new GetItemCommand({ TableName: 'Log', Key: key }));
    await db.send(new GetItemCommand({ TableName: 'Log', Key: { tenantId: { S: 't' }, deliveryId: { S: 'missing' } }, ConsistentRead: true }));
    await db.send(new QueryCommand({ TableName: 'Log', KeyConditionExpression: 'tenantId = :t', ExpressionAttributeValues: { ':t': { S: 't' } } }));
    // 6. delete: leaves the index (1 index delete)
    await db.send(new DeleteItemCommand({ TableName: 'Log', Key: key }));

    const stats = await q.emulators.stats.read();
    const ops = stats.dynamodb.operations;
    expect(Object.fromEntries(Object.entries(ops).map(([op, s]) => [op, [s.calls, s.errors]]))).toEqual({
      PutItem: [2, 1],
      UpdateItem: [1, 0],
      BatchWriteItem: [1, 0],
      GetItem: [2, 0],
      Query: [1, 0],
      DeleteItem: [1, 0],
    });
    expect(ops.PutItem!.requestBytes).toBeGreaterThan(1500);
    const log = stats.dynamodb.tables.Log!;
    expect(log.calls).toEqual({ PutItem: 2, UpdateItem: 1, BatchWriteItem: 1, GetItem: 2, Query: 1, DeleteItem: 1 });
    const keySize = 'tenantId'.length + 1 + 'deliveryId'.length + 2;
    const bigItem = keySize + 'body'.length + 1500;
    const parkedItem = keySize + 'stateKey'.length + 't#parked'.length;
    expect(log.itemWrites).toBe(5); // put, update, 2 batch puts, delete
    expect(log.itemBytes).toBe(bigItem + bigItem + 2 * keySize + parkedItem);
    // put 2 + update 2 + refused 1 + batch 1 + 1 + delete 1
    expect(log.wru).toBe(8);
    expect(log.conditionalFailures).toBe(1);
    expect(log.indexWrites.byState).toMatchObject({ writes: 2, wru: 2 });
    // GetItem 0.5 (eventual) + missing item strongly consistent 1 + Query (3 small items, eventual) 0.5
    expect(log.rru).toBe(2);
    expect(log.itemsRead).toBe(1 + 0 + 3);
    // Left stored: the two batch items, each with its 100-byte overhead.
    expect(log.storageDeltaBytes).toBe(2 * (keySize + 100));
  });

  test('SQS: calls, billed 64 KB chunks, messages, empty receives', async () => {
    await q.emulators.stats.reset();
    const url = q.queues.get('Jobs')!.url;
    await q.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'small' }, { Id: 'b', MessageBody: 'y'.repeat(100 * 1024) }] }));
    const got = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(got.Messages).toHaveLength(2);
    await q.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: got.Messages!.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));

    const ops = (await q.emulators.stats.read()).sqs.operations;
    expect(ops.SendMessageBatch).toMatchObject({ calls: 1, messages: 2, billedRequests: 2, errors: 0 });
    expect(ops.ReceiveMessage).toMatchObject({ calls: 2, messages: 2, empty: 1, billedRequests: 2 + 1 });
    expect(ops.DeleteMessageBatch).toMatchObject({ calls: 1, messages: 2, billedRequests: 1 });
    expect(ops.SendMessageBatch!.requestBytes).toBeGreaterThan(100 * 1024);
  });
});
