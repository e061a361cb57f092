/**
 * Fan-out's reader of replay filters (lambdas/adapters/replay-filters.ts) against the local
 * EventBridge, through the real SDK: a replay's filter is read from its description once per
 * replay name, and a read that fails throws (fan-out then fails the event, so Lambda retries it
 * and finally parks it: a replayed event is never dropped because its filter could not be read)
 * and is not remembered, so the retry reads again.
 */
import { EventBridgeClient, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ReplayFilters } from '../../lambdas/adapters/replay-filters';
import { replayDescription } from '../../lambdas/core/replay';
import { LocalEventBridge, compileRouting } from '../../local/eventbridge';
import { TemplateResolver, type CfnTemplate } from '../../local/template';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/orders-bus`;
const ARCHIVE_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:archive/Archive`;

const template: CfnTemplate = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders-bus' } },
    Archive: { Type: 'AWS::Events::Archive', Properties: { SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] } } },
  },
};

let bridge: LocalEventBridge;
let client: EventBridgeClient;
let sqs: SQSClient;
/** DescribeReplay calls that reached the endpoint. */
let describes = 0;

beforeAll(async () => {
  const resolver = new TemplateResolver(template, { region: REGION, accountId: ACCOUNT, stackName: 'Test' });
  const routing = compileRouting(template, resolver, { queueUrlOfArn: () => undefined, resolveTarget: () => async () => undefined });
  sqs = new SQSClient({ region: REGION });
  bridge = new LocalEventBridge({ sqs, region: REGION, accountId: ACCOUNT, log: () => undefined });
  bridge.configure(routing);
  client = new EventBridgeClient({ endpoint: await bridge.start(), region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DescribeReplayCommand') describes++;
      return next(args);
    },
    { step: 'initialize' },
  );
});

afterAll(async () => {
  client?.destroy();
  sqs?.destroy();
  await bridge?.stop();
});

async function start(name: string, description: string): Promise<void> {
  await client.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: description,
      EventSourceArn: ARCHIVE_ARN,
      EventStartTime: new Date('2026-12-01T00:00:00Z'),
      EventEndTime: new Date('2026-12-01T01:00:00Z'),
      Destination: { Arn: BUS_ARN },
    }),
  );
}

test('a filter that cannot be read throws and is not remembered; once readable it is read once and remembered', async () => {
  const filters = new ReplayFilters(client);
  const name = 'statushooks-20261204T031500-a1b2c3';
  describes = 0;

  await expect(filters.filterOf(name)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await expect(filters.filterOf(name)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  expect(describes).toBe(2);

  await start(name, replayDescription({ tenantId: 'acme-shop', event: 'sales_order.status.changed' }));
  const [first, second] = await Promise.all([filters.filterOf(name), filters.filterOf(name)]);
  const third = await filters.filterOf(name);

  expect(first).toEqual({ tenantId: 'acme-shop', event: 'sales_order.status.changed' });
  expect(second).toEqual(first);
  expect(third).toEqual(first);
  expect(describes).toBe(3);
});

test('a replay whose description carries no statushooks filter replays everything', async () => {
  const filters = new ReplayFilters(client);
  await start('statushooks-20261204T031600-d4e5f6', 'started by hand in the console');
  await expect(filters.filterOf('statushooks-20261204T031600-d4e5f6')).resolves.toEqual({});
});
