/**
 * The local EventBridge: PutEvents over HTTP as the SDK speaks it, routing through a template's
 * rules, and the target retry policy with its dead-letter queue.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventBridge, compileRouting } from '../../local/eventbridge';
import { UnsupportedTemplateError, type CfnTemplate, TemplateResolver } from '../../local/template';
import { type Fixture, type QueueFixture, REGION, fixture, queues, sleep } from './fixtures';

jest.setTimeout(30_000);

let f: Fixture;
let q: QueueFixture;
let bridge: LocalEventBridge;
let client: EventBridgeClient;
const delivered: unknown[] = [];
const logs: string[] = [];

const template: CfnTemplate = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders-bus' } },
    TargetQueue: { Type: 'AWS::SQS::Queue' },
    TargetDlq: { Type: 'AWS::SQS::Queue' },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { source: ['shop'], detail: { kind: [{ prefix: 'order.' }] } },
        Targets: [
          { Id: 'ToQueue', Arn: { 'Fn::GetAtt': ['TargetQueue', 'Arn'] } },
          { Id: 'Detail', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:recorder', InputPath: '$.detail' },
          {
            Id: 'Broken',
            Arn: 'arn:aws:lambda:us-east-1:000000000000:function:broken',
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['TargetDlq', 'Arn'] } },
          },
        ],
      },
    },
    Disabled: { Type: 'AWS::Events::Rule', Properties: { State: 'DISABLED', EventPattern: { source: ['shop'] }, Targets: [{ Id: 'X', Arn: 'arn:nowhere' }] } },
  },
};

beforeAll(async () => {
  f = await fixture();
  q = await queues(f, { TargetQueue: {}, TargetDlq: {} });
  const resolver = new TemplateResolver(template, { region: REGION, accountId: '000000000000', stackName: 'Test' });
  for (const queue of q.queues.values()) resolver.define(queue.logicalId, { ref: queue.url, attributes: { Arn: queue.arn } });
  const queueByArn = new Map([...q.queues.values()].map((x) => [x.arn, x]));
  const routing = compileRouting(template, resolver, {
    queueUrlOfArn: (arn) => queueByArn.get(arn)?.url,
    resolveTarget: (arn) => {
      if (arn.endsWith(':recorder')) return async (payload) => void delivered.push(payload);
      if (arn.endsWith(':broken')) return async () => Promise.reject(new Error('cannot invoke'));
      const queue = queueByArn.get(arn)!;
      return async (payload) => {
        await q.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(payload) }));
      };
    },
  });
  bridge = new LocalEventBridge({ sqs: q.sqs, region: REGION, accountId: '000000000000', log: (l) => logs.push(l), targetRetryDelayMs: () => 50 });
  bridge.configure(routing);
  const endpoint = await bridge.start();
  client = new EventBridgeClient({ endpoint, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
});

afterAll(async () => {
  client?.destroy();
  await bridge?.stop();
  await q?.stop();
  f?.cleanup();
});

async function receive(queueUrl: string) {
  const out = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] }));
  return out.Messages ?? [];
}

test('a matching event reaches every target of the rule in the EventBridge envelope; InputPath selects a part', async () => {
  const time = new Date('2025-03-04T05:06:07.890Z');
  const out = await client.send(
    new PutEventsCommand({ Entries: [{ EventBusName: 'orders-bus', Source: 'shop', DetailType: 'Order Placed', Detail: JSON.stringify({ kind: 'order.placed', n: 1 }), Time: time, Resources: ['arn:x'] }] }),
  );
  expect(out.FailedEntryCount).toBe(0);
  const [message] = await receive(q.queues.get('TargetQueue')!.url);
  expect(JSON.parse(message!.Body!)).toEqual({
    version: '0',
    id: out.Entries![0]!.EventId,
    'detail-type': 'Order Placed',
    source: 'shop',
    account: '000000000000',
    time: '2025-03-04T05:06:07Z',
    region: REGION,
    resources: ['arn:x'],
    detail: { kind: 'order.placed', n: 1 },
  });
  expect(delivered).toContainEqual({ kind: 'order.placed', n: 1 });
});

test('a target that cannot be reached is retried per its RetryPolicy, then the event goes to its DLQ with EventBridge’s attributes', async () => {
  const out = await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'orders-bus', Source: 'shop', DetailType: 'Order Placed', Detail: '{"kind":"order.cancelled"}' }] }));
  const eventId = out.Entries![0]!.EventId;
  // (The event of the previous test went to the broken target as well.)
  let message;
  for (let i = 0; i < 5 && !message; i++) message = (await receive(q.queues.get('TargetDlq')!.url)).find((m) => JSON.parse(m.Body!).id === eventId);
  expect(message).toBeDefined();
  const attrs = Object.fromEntries(Object.entries(message!.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]));
  expect(attrs).toMatchObject({
    ERROR_MESSAGE: 'Error: cannot invoke',
    EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
    RETRY_ATTEMPTS: '2',
    TARGET_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:broken',
    RULE_ARN: 'arn:aws:events:us-east-1:000000000000:rule/orders-bus/Rule',
  });
});

test('an event its DLQ refuses (U+FFFF in the detail) is reported lost, as EventBridge drops it, not retried forever', async () => {
  const out = await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'orders-bus', Source: 'shop', DetailType: 'Order Placed', Detail: JSON.stringify({ kind: 'order.odd', note: 'x\uffff' }) }] }));
  const eventId = out.Entries![0]!.EventId!;
  const line = `event ${eventId} could not be delivered to arn:aws:lambda:us-east-1:000000000000:function:broken (Error: cannot invoke), and its dead-letter queue refused it`;
  for (let i = 0; i < 100 && !logs.some((l) => l.includes(line)); i++) await sleep(50);
  expect(logs.find((l) => l.includes(line))).toMatch(/InvalidMessageContents.*: on AWS the event is lost \(InvocationsFailedToBeSentToDLQ\)$/);
  // It reached the targets that work, with its detail as sent.
  expect(delivered).toContainEqual({ kind: 'order.odd', note: 'x\uffff' });
});

test('a non-matching event, or one on another bus, is accepted and goes nowhere', async () => {
  delivered.length = 0;
  const out = await client.send(
    new PutEventsCommand({
      Entries: [
        { EventBusName: 'orders-bus', Source: 'shop', DetailType: 'x', Detail: '{"kind":"refund.made"}' },
        { Source: 'shop', DetailType: 'x', Detail: '{"kind":"order.placed"}' },
      ],
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
  await new Promise((r) => setTimeout(r, 300));
  expect(delivered).toEqual([]);
});

test('operations other than PutEvents are answered with UnknownOperationException', async () => {
  const res = await fetch(bridge.endpoint, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.ListRules' }, body: '{}' });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
});

test('target options the runtime does not implement are refused by name', () => {
  const bad: CfnTemplate = {
    Resources: { R: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['x'] }, Targets: [{ Id: 'T', Arn: 'arn:t', InputTransformer: { InputTemplate: '"x"' } }] } } },
  };
  const resolver = new TemplateResolver(bad, { region: REGION, accountId: '000000000000', stackName: 'Test' });
  expect(() => compileRouting(bad, resolver, { queueUrlOfArn: () => undefined, resolveTarget: () => async () => undefined })).toThrow(UnsupportedTemplateError);
  expect(() => compileRouting(bad, resolver, { queueUrlOfArn: () => undefined, resolveTarget: () => async () => undefined })).toThrow(/InputTransformer/);
});
