/**
 * The local EventBridge's archive and replays, through the real SDK: what the archive keeps (its
 * pattern, its retention), what a replay puts back (the window, the original ids, `replay-name`,
 * only the rules of FilterArns), and StartReplay's refusals, like AWS.
 */
import { CancelReplayCommand, DescribeReplayCommand, EventBridgeClient, ListReplaysCommand, PutEventsCommand, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LocalEventBridge, compileRouting, type BusEvent } from '../../local/eventbridge';
import { TemplateResolver, type CfnTemplate } from '../../local/template';

jest.setTimeout(30_000);

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/orders-bus`;
const ARCHIVE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:archive/Archive`;
const RULE_A = `arn:aws:events:${REGION}:${ACCOUNT}:rule/orders-bus/RuleA`;

const template: CfnTemplate = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders-bus' } },
    RuleA: { Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['shop'] }, Targets: [{ Id: 'A', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:a' }] } },
    RuleB: { Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['shop'] }, Targets: [{ Id: 'B', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:b' }] } },
    Archive: { Type: 'AWS::Events::Archive', Properties: { SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] }, EventPattern: { source: ['shop'] }, RetentionDays: 1 } },
  },
};

const got: Record<'a' | 'b', BusEvent[]> = { a: [], b: [] };
let bridge: LocalEventBridge;
let client: EventBridgeClient;
let sqs: SQSClient;
let archiveNow = Date.now();

beforeAll(async () => {
  const resolver = new TemplateResolver(template, { region: REGION, accountId: ACCOUNT, stackName: 'Test' });
  const routing = compileRouting(template, resolver, {
    queueUrlOfArn: () => undefined,
    resolveTarget: (arn) => async (payload) => void got[arn.endsWith(':a') ? 'a' : 'b'].push(payload as BusEvent),
  });
  sqs = new SQSClient({ region: REGION });
  // A retention day lasts 0.6 s here, on the archive's own clock, which the tests move: how long
  // the machine takes between two steps cannot expire an event the test means to keep.
  bridge = new LocalEventBridge({ sqs, region: REGION, accountId: ACCOUNT, log: () => undefined, retentionScale: 0.6 / 86_400, archiveClock: () => archiveNow });
  bridge.configure(routing);
  client = new EventBridgeClient({ endpoint: await bridge.start(), region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
});

afterAll(async () => {
  client?.destroy();
  sqs?.destroy();
  await bridge?.stop();
});

async function put(source: string, time: Date, n: number): Promise<string> {
  const out = await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'orders-bus', Source: source, DetailType: 'Order', Detail: JSON.stringify({ n }), Time: time }] }));
  return out.Entries![0]!.EventId!;
}

async function completed(name: string) {
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeReplayCommand({ ReplayName: name }));
    if (out.State === 'COMPLETED') return out;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`replay ${name} did not complete`);
}

test('a replay puts the window\'s archived events back with their ids and replay-name, to the FilterArns rules only; retention drops old events', async () => {
  const t0 = Date.parse('2026-12-01T10:00:00Z');
  const old = await put('shop', new Date(t0), 1);
  archiveNow += 800; // past the retention of the first event
  const inside = await put('shop', new Date(t0 + 60_000), 2);
  const later = await put('shop', new Date(t0 + 600_000), 3);
  await put('elsewhere', new Date(t0 + 60_000), 4); // not archived: outside the archive's pattern
  await new Promise((r) => setTimeout(r, 50));
  got.a.length = 0;
  got.b.length = 0;

  const started = await client.send(
    new StartReplayCommand({ ReplayName: 'r1', Description: 'd', EventSourceArn: ARCHIVE_ARN, EventStartTime: new Date(t0), EventEndTime: new Date(t0 + 600_000), Destination: { Arn: BUS_ARN, FilterArns: [RULE_A] } }),
  );
  expect(started.State).toBe('STARTING');
  const done = await completed('r1');
  expect(done).toMatchObject({ ReplayName: 'r1', Description: 'd', EventSourceArn: ARCHIVE_ARN, Destination: { Arn: BUS_ARN, FilterArns: [RULE_A] } });
  expect(done.EventLastReplayedTime?.toISOString()).toBe('2026-12-01T10:01:00.000Z');
  // [t0, t0+10min): `old` has expired, `later` is at the window's (exclusive) end.
  expect(got.a.map((e) => [e.id, e['replay-name'], e.detail])).toEqual([[inside, 'r1', { n: 2 }]]);
  expect(got.b).toEqual([]);
  expect(old).not.toBe(inside);
  expect(later).toBeDefined();
  const listed = await client.send(new ListReplaysCommand({ NamePrefix: 'r' }));
  expect(listed.Replays?.map((r) => [r.ReplayName, r.State])).toEqual([['r1', 'COMPLETED']]);
});

test.each([
  ['a bad name', { ReplayName: 'no spaces' }, 'ValidationException'],
  ['an unknown archive', { EventSourceArn: `${ARCHIVE_ARN}-nope` }, 'ResourceNotFoundException'],
  ['an end before the start', { EventEndTime: new Date('2026-11-30T00:00:00Z') }, 'ValidationException'],
  ['an end in the future', { EventEndTime: new Date(Date.now() + 3_600_000) }, 'ValidationException'],
  ['another bus', { Destination: { Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` } }, 'ValidationException'],
  ['a rule of no bus', { Destination: { Arn: BUS_ARN, FilterArns: [`${RULE_A}-nope`] } }, 'ValidationException'],
])('StartReplay refuses %s', async (_name, change, type) => {
  const request = { ReplayName: `ok-${Math.random().toString(36).slice(2, 8)}`, EventSourceArn: ARCHIVE_ARN, EventStartTime: new Date('2026-12-01T00:00:00Z'), EventEndTime: new Date('2026-12-01T01:00:00Z'), Destination: { Arn: BUS_ARN }, ...change };
  await expect(client.send(new StartReplayCommand(request))).rejects.toMatchObject({ name: type });
});

test('a replay cancelled while it is still starting ends cancelled, with nothing replayed', async () => {
  const time = new Date('2026-12-02T10:00:00Z');
  await put('shop', time, 1);
  const before = got.a.length;
  const request = { ReplayName: 'cancelled-at-once', EventSourceArn: ARCHIVE_ARN, EventStartTime: Date.parse('2026-12-02T09:00:00Z') / 1000, EventEndTime: Date.parse('2026-12-02T11:00:00Z') / 1000, Destination: { Arn: BUS_ARN } };
  // In the same tick, before the replay has started running.
  expect(bridge.startReplay(request)).toMatchObject({ State: 'STARTING' });
  expect(bridge.cancelReplay({ ReplayName: 'cancelled-at-once' })).toMatchObject({ State: 'CANCELLING' });
  let state: string | undefined;
  for (let i = 0; i < 100 && state !== 'CANCELLED'; i++) {
    state = (await client.send(new DescribeReplayCommand({ ReplayName: 'cancelled-at-once' }))).State;
    if (state !== 'CANCELLED') await new Promise((r) => setTimeout(r, 20));
  }
  expect(state).toBe('CANCELLED');
  expect(got.a.length).toBe(before);
});

test('a replay name is used once; an unknown replay is not found; a finished replay cannot be cancelled', async () => {
  const request = { ReplayName: 'once', EventSourceArn: ARCHIVE_ARN, EventStartTime: new Date('2026-12-01T00:00:00Z'), EventEndTime: new Date('2026-12-01T01:00:00Z'), Destination: { Arn: BUS_ARN } };
  await client.send(new StartReplayCommand(request));
  await expect(client.send(new StartReplayCommand(request))).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
  await expect(client.send(new DescribeReplayCommand({ ReplayName: 'never' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await completed('once');
  await expect(client.send(new CancelReplayCommand({ ReplayName: 'once' }))).rejects.toMatchObject({ name: 'IllegalStatusException' });
});
