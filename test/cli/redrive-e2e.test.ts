/**
 * The operator's recovery path through the real local runtime: a delivery fails until it is
 * parked, the receiver recovers, `dlq redrive` puts the job back, and the receiver gets it with
 * the same webhook-id and a signature that verifies. Likewise for an event whose fan-out failed.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryLog } from '../../lambdas/adapters/delivery-log-store';
import { requeueBefore } from '../../lambdas/core/delivery-log';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { cli, json, stopLocalRuntime } from './helpers';

jest.setTimeout(120_000);

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

let runtime: LocalRuntime;
let sqs: SQSClient;
let db: DynamoDBDocumentClient;
let dir: string;
let stateFile: string;
let receiver: http.Server;
let receiverUrl: string;
let healthy = false;
const received: Received[] = [];
const runtimeLog: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'statushooks-e2e-'));
  stateFile = path.join(dir, 'dev.json');
  runtime = await startLocalRuntime({ retrySchedule: [1, 1, 1, 1], maxAttempts: 2, httpTimeoutMs: 2_000, stateFile, log: (line) => runtimeLog.push(line) });
  db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: runtime.region, endpoint: runtime.endpoints.dynamodb, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
  sqs = new SQSClient({ region: runtime.region, endpoint: runtime.endpoints.sqs, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, useQueueUrlAsEndpoint: false });
  // A receiver that fails with 500 until it is told it has recovered.
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = healthy ? 204 : 500;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  db?.destroy();
  await stopLocalRuntime(runtime, receiver ? [receiver] : [], dir);
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; runtime log:\n${runtimeLog.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function depth(queueUrl: string): Promise<number> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

test('a failed delivery is parked, then redriven after the receiver recovers and delivered with the same webhook-id', async () => {
  const local = ['--local', stateFile];
  const dlqUrl = runtime.outputs.DeliveryDlqUrl!;

  // Prepare: a subscription to the failing receiver, made with the CLI.
  const created = await cli(['subscriptions', 'create', '--tenant', 'e2e-shop', '--url', receiverUrl, '--events', 'return_order.status.changed', '--json', ...local]);
  expect(created.code).toBe(0);
  const { subscriptionId, secret } = json<{ subscriptionId: string; secret: string }>(created);

  // Act 1: an event through the pipeline; every attempt fails, the job is parked.
  const sent = await cli([
    'events', 'send', '--type', 'return_order.status.changed', '--tenant', 'e2e-shop', '--old', 'approved', '--new', 'received',
    '--uuid', '4f1e0c55-7c1b-4d1e-9a38-6f2b7c1d2e3f', '--number', '100077', '--json', ...local,
  ]);
  expect(sent.code).toBe(0);
  await waitFor('the job in the delivery DLQ', async () => ((await depth(dlqUrl)) === 1 ? true : undefined));
  expect(received).toHaveLength(2);
  const webhookId = received[0]!.headers['webhook-id'] as string;
  expect(received[1]!.headers['webhook-id']).toBe(webhookId);

  const listed = await cli(['dlq', 'list', '--json', ...local]);
  expect(listed.code).toBe(0);
  expect(json<{ jobs: unknown[] }>(listed).jobs).toEqual([
    expect.objectContaining({ deliveryId: webhookId, tenantId: 'e2e-shop', subscriptionId, event: 'return_order.status.changed', attempts: 2, reason: expect.stringContaining('500') }),
  ]);
  expect(await depth(dlqUrl)).toBe(1);

  // Act 2: the receiver recovers; the operator redrives that subscription's jobs.
  healthy = true;
  const redriven = await cli(['dlq', 'redrive', '--subscription', subscriptionId, '--tenant', 'e2e-shop', ...local]);

  // Assess: moved, delivered once more with the same webhook-id, body and a valid signature.
  expect(redriven.code).toBe(0);
  expect(redriven.stdout).toContain('moved 1 job from the delivery DLQ to the delivery queue');
  const delivered = await waitFor('the redriven delivery', () => received.find((r) => r.status === 204));
  expect(delivered.headers['webhook-id']).toBe(webhookId);
  expect(delivered.body).toBe(received[0]!.body);
  expect(JSON.parse(delivered.body)).toEqual({
    event: 'return_order.status.changed',
    oldStatus: 'approved',
    newStatus: 'received',
    returnOrder: { number: '100077', uuid: '4f1e0c55-7c1b-4d1e-9a38-6f2b7c1d2e3f', externalId: null },
  });
  const headers = { 'webhook-id': webhookId, 'webhook-timestamp': String(delivered.headers['webhook-timestamp']), 'webhook-signature': String(delivered.headers['webhook-signature']) };
  expect(() => new Webhook(secret).verify(delivered.body, headers)).not.toThrow();
  expect(await depth(dlqUrl)).toBe(0);

  // The delivery log tells the whole story in one record: two failed attempts, then the redriven one.
  const log = new DynamoDeliveryLog(db, runtime.outputs.DeliveryLogTableName!, 30);
  const record = await waitFor('the record delivered', async () => {
    const r = await log.get('e2e-shop', webhookId);
    return r?.state === 'delivered' ? r : undefined;
  });
  expect(record.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 500], [2, 500], [1, 204]]);
  // …and what queued it again: the redrive, between the parked attempt and the new one.
  expect(record.requeues).toEqual([{ at: expect.any(String), by: 'redrive' }]);
  expect(requeueBefore(record, 2)).toEqual(record.requeues![0]);
});

test("a failed fan-out of an event Lambda's failure record could not carry (U+FFFF in an ignored field) is parked at once, listed with its reason, and redriven", async () => {
  const local = ['--local', stateFile];
  const dlqUrl = runtime.outputs.FanOutDlqUrl!;
  const created = await cli(['subscriptions', 'create', '--tenant', 'odd-shop', '--url', receiverUrl, '--events', 'sales_order.status.changed', '--json', ...local]);
  expect(created.code).toBe(0);
  const { secret } = json<{ secret: string }>(created);
  const before = received.length;
  const detail = { tenantId: 'odd-shop', oldStatus: 'open', newStatus: 'shipped', salesOrder: { uuid: '7d3c2a10-0000-4000-8000-000000000007', number: 'SO-7', externalId: null }, note: 'kept as sent: \uffff' };

  // The subscriptions table is unavailable: fan-out fails. Lambda's failure record would hold the
  // U+FFFF raw, which SQS refuses (on AWS the record, and the event, would be lost).
  const subscriptions = runtime.outputs.SubscriptionsTableName!;
  await runtime.faults.tables.set(subscriptions, 'unavailable');
  let eventId: string;
  const events = new EventBridgeClient({ region: runtime.region, endpoint: runtime.endpoints.eventbridge, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const put = await events.send(new PutEventsCommand({ Entries: [{ EventBusName: runtime.outputs.EventBusName, Source: 'returns.cloud', DetailType: 'sales_order.status.changed', Detail: JSON.stringify(detail) }] }));
    eventId = put.Entries![0]!.EventId!;
    expect(eventId).toBeTruthy();
    await waitFor('the event parked in the fan-out DLQ', async () => ((await depth(dlqUrl)) === 1 ? true : undefined));
  } finally {
    events.destroy();
    await runtime.faults.tables.set(subscriptions, null);
  }
  // Parked by fan-out on its first failure, not retried by Lambda.
  expect(runtimeLog.filter((l) => l.includes('async invocation') && l.includes('failed'))).toEqual([]);

  const listed = await cli(['dlq', 'list', '--queue', 'fan-out', '--json', ...local]);
  expect(listed.code).toBe(0);
  expect(json<{ events: unknown[] }>(listed).events).toEqual([
    expect.objectContaining({ eventId, tenantId: 'odd-shop', kind: 'failed-event', reason: expect.stringMatching(/^fan-out failed: .*; parked at once, not retried: the event holds U\+FFFF, which an SQS message cannot carry$/) }),
  ]);

  const redriven = await cli(['dlq', 'redrive', '--queue', 'fan-out', ...local]);
  expect(redriven.code).toBe(0);
  const delivered = await waitFor('the redriven event delivered', () => received.slice(before).find((r) => r.status === 204));
  expect(JSON.parse(delivered.body)).toEqual({ event: 'sales_order.status.changed', oldStatus: 'open', newStatus: 'shipped', salesOrder: { uuid: detail.salesOrder.uuid, number: 'SO-7', externalId: null } });
  const headers = { 'webhook-id': String(delivered.headers['webhook-id']), 'webhook-timestamp': String(delivered.headers['webhook-timestamp']), 'webhook-signature': String(delivered.headers['webhook-signature']) };
  expect(() => new Webhook(secret).verify(delivered.body, headers)).not.toThrow();
  expect(await depth(dlqUrl)).toBe(0);
});

test("a replayed event its replay's filter leaves out is not sent on by a fan-out redrive: the function would skip it, so the redrive does", async () => {
  const local = ['--local', stateFile];
  const dlqUrl = runtime.outputs.FanOutDlqUrl!;
  for (const tenant of ['rp-a', 'rp-b']) {
    expect((await cli(['subscriptions', 'create', '--tenant', tenant, '--url', `${receiverUrl}/${tenant}`, '--events', 'sales_order.status.changed', ...local])).code).toBe(0);
  }
  const replay = await cli(['events', 'replay', '--since', '10m', '--tenant', 'rp-a', '--json', ...local]);
  expect(replay.code).toBe(0);
  const { replayName } = json<{ replayName: string }>(replay);

  // What Lambda parks when fan-out cannot read the replay's filter (DescribeReplay refused or throttled).
  const failureRecord = (tenantId: string, uuid: string) => ({
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: { requestId: uuid, functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fan-out:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: {
      version: '0',
      id: `evt-${uuid}`,
      'detail-type': 'sales_order.status.changed',
      source: 'returns.cloud',
      account: '000000000000',
      time: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: runtime.region,
      resources: [],
      detail: { tenantId, oldStatus: 'open', newStatus: 'shipped', salesOrder: { uuid, number: null, externalId: null } },
      'replay-name': replayName,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'AccessDeniedException', errorMessage: 'not authorized to perform: events:DescribeReplay' },
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(failureRecord('rp-a', '9a000000-0000-4000-8000-00000000000a')) }));
  await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(failureRecord('rp-b', '9b000000-0000-4000-8000-00000000000b')) }));
  const before = received.length;

  const redriven = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--json', ...local]);
  expect(redriven.code).toBe(0);
  const report = json<{ moved: Array<{ id: string }>; skipped: Array<{ id: string; reason: string }> }>(redriven);
  expect(report.moved.map((m) => m.id)).toEqual(['evt-9a000000-0000-4000-8000-00000000000a']);
  expect(report.skipped).toEqual([
    expect.objectContaining({ id: 'evt-9b000000-0000-4000-8000-00000000000b', reason: `outside the filter of replay ${replayName}: fan-out skips it (left parked; discard it)` }),
  ]);
  const delivered = await waitFor('the rp-a event delivered', () => received.slice(before).find((r) => r.status === 204));
  expect(JSON.parse(delivered.body).salesOrder.uuid).toBe('9a000000-0000-4000-8000-00000000000a');
  // Nothing reached rp-b, and its event is still parked.
  await new Promise((r) => setTimeout(r, 1_000));
  expect(received.slice(before).map((r) => JSON.parse(r.body).salesOrder.uuid)).toEqual(['9a000000-0000-4000-8000-00000000000a']);
  expect(await depth(dlqUrl)).toBe(1);
});
