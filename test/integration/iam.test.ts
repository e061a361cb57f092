/**
 * IAM through the real local runtime (local/iam.ts, local/README.md "IAM"): each function calls
 * the emulators with its own access key id and every call is checked against its execution role
 * from the synthesized template, answered with AccessDenied as AWS answers it.
 *
 * The first pipeline runs the stack as synthesized: calls outside a role are refused, granted
 * ones pass, callers that are not functions are not checked, and a delivery and a replay go
 * through without a single denial. The second runs it with the grant whose absence once slipped
 * through to AWS (fan-out's dynamodb:UpdateItem on the delivery log, used when an event is fanned out again)
 * taken out again: the runtime now refuses those writes, says so, and fan-out's own error
 * handling runs as it did on AWS. The same template also lacks grants that Lambda itself uses
 * with a function's role (the retry lane's event source mapping, fan-out's on-failure
 * destination): the runtime's pollers and async invoker use the role too, and are refused.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeReplayCommand, EventBridgeClient, PutEventsCommand, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../lambdas/core/config';
import { newReplayName, replayDescription } from '../../lambdas/core/replay';
import { functionAccessKeyId } from '../../local/iam';
import type { CfnTemplate } from '../../local/template';
import { type Harness, type StatusChangeInput, Receiver, drain, entryFor, functionLogEntries, getSubscription, putEntries, startHarness, subscribe, waitFor } from './helpers';

jest.setTimeout(90_000);

/** SDK clients signed with a function's access key id, as the function's own code would be. */
function clientsOf(h: Harness, logicalId: string) {
  const credentials = { accessKeyId: functionAccessKeyId(logicalId), secretAccessKey: 'local' };
  const { region, endpoints } = h.runtime;
  return {
    db: new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials, maxAttempts: 1 }),
    sqs: new SQSClient({ endpoint: endpoints.sqs, region, credentials, maxAttempts: 1 }),
    events: new EventBridgeClient({ endpoint: endpoints.eventbridge, region, credentials, maxAttempts: 1 }),
    destroy() {
      this.db.destroy();
      this.sqs.destroy();
      this.events.destroy();
    },
  };
}

async function logicalIdOf(h: Harness, displayName: string): Promise<string> {
  const fn = (await h.runtime.stats.read()).functions[displayName];
  if (!fn) throw new Error(`no function ${displayName}`);
  return fn.logicalId;
}

const tableArn = (h: Harness, name: string) => `arn:aws:dynamodb:${h.runtime.region}:000000000000:table/${name}`;
const iamLines = (h: Harness) => h.logs.filter((l) => l.startsWith('! IAM:'));
/** The runtime's log line of a denial (the emulator worker reports it next to its answer, not before). */
const denialLogged = (h: Harness, line: RegExp) =>
  waitFor(() => iamLines(h).find((l) => line.test(l)), { timeoutMs: 5_000, describe: () => `no runtime line matching ${line}; IAM lines:\n${iamLines(h).join('\n')}` });
const change = (tenantId: string): StatusChangeInput => ({ event: 'return_order.status.changed', tenantId, oldStatus: 'approved', newStatus: 'option_selected', uuid: randomUUID(), number: '100004' });

/** Replays the archived events of `tenantId` within a second of `time` through the fan-out rule (as `events replay` does). */
async function replayAround(h: Harness, tenantId: string, time: Date): Promise<void> {
  const { outputs } = h.runtime;
  await h.events.send(
    new StartReplayCommand({
      ReplayName: newReplayName(new Date(), randomBytes(3).toString('hex')),
      Description: replayDescription({ tenantId }),
      EventSourceArn: outputs.ArchiveArn,
      EventStartTime: new Date(time.getTime() - 1000),
      EventEndTime: new Date(time.getTime() + 1000),
      Destination: { Arn: outputs.EventBusArn, FilterArns: [outputs.FanOutRuleArn!] },
    }),
  );
}

type Resource = CfnTemplate['Resources'][string];

/** The function whose environment has `variable` (e.g. fan-out's DLQ URL, the delivery lane). */
function functionWithEnv(template: CfnTemplate, variable: string, value?: string): [string, Resource] {
  const found = Object.entries(template.Resources).find(([, r]) => {
    const v = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[variable];
    return r.Type === 'AWS::Lambda::Function' && v !== undefined && (value === undefined || v === value);
  });
  if (!found) throw new Error(`no function with ${variable}${value === undefined ? '' : `=${value}`}`);
  return found;
}

/** The logical id an environment variable of the function refers to (`{ Ref: <id> }`). */
function envRef(fn: Resource, variable: string): string {
  return (fn.Properties!.Environment as { Variables: Record<string, { Ref: string }> }).Variables[variable]!.Ref;
}

/** Takes `actions` out of the statements on `resource` of the policies attached to the function's role; how many went. */
function removeActions(template: CfnTemplate, fn: Resource, resource: unknown, actions: readonly string[]): number {
  const roleId = (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  let removed = 0;
  for (const policy of Object.values(template.Resources)) {
    if (policy.Type !== 'AWS::IAM::Policy' || !JSON.stringify(policy.Properties?.Roles).includes(`"${roleId}"`)) continue;
    for (const st of (policy.Properties!.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement) {
      if (JSON.stringify(st.Resource) !== JSON.stringify(resource)) continue;
      const before = [st.Action].flat();
      st.Action = before.filter((a) => !actions.includes(a));
      removed += before.length - st.Action.length;
    }
  }
  return removed;
}

describe('the stack as synthesized', () => {
  let h: Harness;
  let receiver: Receiver;
  let fanOut: ReturnType<typeof clientsOf>;
  let delivery: ReturnType<typeof clientsOf>;
  const key = (tenantId: string) => ({ tenantId: { S: tenantId }, subscriptionId: { S: 'sub-1' } });

  beforeAll(async () => {
    h = await startHarness({ retrySchedule: [1, 1, 1, 1], maxAttempts: 3, expectAccessDenied: true });
    receiver = await Receiver.start();
    fanOut = clientsOf(h, await logicalIdOf(h, 'FanOutFunction'));
    delivery = clientsOf(h, await logicalIdOf(h, 'DeliveryFunction'));
  }, 180_000);

  afterAll(async () => {
    fanOut?.destroy();
    delivery?.destroy();
    await receiver?.stop();
    await h?.stop();
  });

  it("refuses a DynamoDB call outside the function's role with AccessDeniedException naming action and resource", async () => {
    const subscriptions = h.runtime.outputs.SubscriptionsTableName!;
    const call = fanOut.db.send(new UpdateItemCommand({ TableName: subscriptions, Key: key('iam-1'), UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':s': { S: 'disabled' } } }));
    await expect(call).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        new RegExp(`^User: arn:aws:sts::000000000000:assumed-role/[^/]+/\\S+ is not authorized to perform: dynamodb:UpdateItem on resource: ${tableArn(h, subscriptions)} because no identity-based policy allows the dynamodb:UpdateItem action$`),
      ),
    });
    await denialLogged(h, new RegExp(`^! IAM: FanOutFunction was denied dynamodb:UpdateItem on ${tableArn(h, subscriptions)} \\(no statement of role FanOutFunctionRole\\w+ allows it\\)$`));
    // Refused before the table was touched: the update would have created the item.
    expect(await getSubscription(h, 'iam-1', 'sub-1')).toBeUndefined();
  });

  it('lets the same function make the calls its role grants', async () => {
    const log = h.runtime.outputs.DeliveryLogTableName!;
    await fanOut.db.send(new UpdateItemCommand({ TableName: log, Key: { tenantId: { S: 'iam-2' }, deliveryId: { S: 'd-1' } }, UpdateExpression: 'SET #s = :s', ExpressionAttributeNames: { '#s': 'state' }, ExpressionAttributeValues: { ':s': { S: 'pending' } } }));
    const put = (tenantId: string) => ({ PutRequest: { Item: { tenantId: { S: tenantId }, deliveryId: { S: 'd-2' } } } });
    await fanOut.db.send(new BatchWriteItemCommand({ RequestItems: { [log]: [put('iam-2')] } }));
    // A batch naming one table the role does not grant is refused whole.
    await expect(fanOut.db.send(new BatchWriteItemCommand({ RequestItems: { [log]: [put('iam-3')], [h.runtime.outputs.HealthTableName!]: [put('iam-3')] } }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`dynamodb:BatchWriteItem on resource: ${tableArn(h, h.runtime.outputs.HealthTableName!)}`),
    });
  });

  it('checks SQS calls too: batches as their single action, on the queue of QueueUrl', async () => {
    const queueUrl = h.runtime.outputs.FanOutDlqUrl!;
    // fan-out may send to its DLQ (an SendMessageBatch is authorized as sqs:SendMessage)…
    const sent = await fanOut.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', MessageBody: '{"iam":"test"}' }] }));
    expect(sent.Successful).toHaveLength(1);
    // …but not read or delete from it.
    await expect(fanOut.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining(`is not authorized to perform: sqs:receivemessage on resource: arn:aws:sqs:${h.runtime.region}:000000000000:`),
    });
    await expect(fanOut.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', ReceiptHandle: 'x' }] }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('sqs:deletemessage'),
    });
    await denialLogged(h, /^! IAM: FanOutFunction was denied sqs:DeleteMessage on arn:aws:sqs:\S+:FanOutDeadLetterQueue\w+ /);
    // SQS's older query protocol (form-encoded, XML answers) is judged the same way.
    const form = await fetch(h.runtime.endpoints.sqs, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=${functionAccessKeyId(await logicalIdOf(h, 'FanOutFunction'))}/20260101/${h.runtime.region}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: new URLSearchParams({ Action: 'ReceiveMessage', QueueUrl: queueUrl, Version: '2012-11-05' }).toString(),
    });
    expect(form.status).toBe(403);
    expect(await form.text()).toMatch(/<Code>AccessDenied<\/Code><Message>User: \S+ is not authorized to perform: sqs:receivemessage on resource: arn:aws:sqs:\S+:FanOutDeadLetterQueue\w+ because/);
    // The test's own clients (not a function) are not checked: the message is taken off again.
    const taken = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    expect(taken.Messages).toHaveLength(1);
    await h.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', ReceiptHandle: taken.Messages![0]!.ReceiptHandle! }] }));
  });

  it('checks EventBridge calls: PutEvents on the bus for the delivery function\'s own operational events only, DescribeReplay on statushooks replays only', async () => {
    const bus = h.runtime.outputs.EventBusName;
    const operational = { EventBusName: bus, Source: 'statushooks', DetailType: 'statushooks.endpoint.failing', Detail: '{}' };
    await expect(fanOut.events.send(new PutEventsCommand({ Entries: [operational] }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`is not authorized to perform: events:PutEvents on resource: ${h.runtime.outputs.EventBusArn}`),
    });
    // The delivery function publishes operational events there: granted.
    const out = await delivery.events.send(new PutEventsCommand({ Entries: [operational] }));
    expect(out.FailedEntryCount).toBe(0);
    // … and nothing else: a status-change event of the platform (fan-out would sign and send it),
    // another source, or another detail type of its source, alone or beside an allowed entry.
    for (const entries of [
      [{ EventBusName: bus, Source: 'returns.cloud', DetailType: 'return_order.status.changed', Detail: '{}' }],
      [{ EventBusName: bus, Source: 'statushooks.test', DetailType: 'statushooks.endpoint.failing', Detail: '{}' }],
      [{ EventBusName: bus, Source: 'statushooks', DetailType: 'return_order.status.changed', Detail: '{}' }],
      [operational, { EventBusName: bus, Source: 'returns.cloud', DetailType: 'sales_order.status.changed', Detail: '{}' }],
    ]) {
      await expect(delivery.events.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    }
    await expect(fanOut.events.send(new DescribeReplayCommand({ ReplayName: 'statushooks-none' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(fanOut.events.send(new DescribeReplayCommand({ ReplayName: 'someone-elses' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('delivers an event, and a replay of it, end to end without a single denial', async () => {
    const denialsBefore = iamLines(h).length;
    const tenantId = `iam-pipeline-${randomBytes(3).toString('hex')}`;
    await subscribe(h, { tenantId, url: receiver.url });
    // Event time a minute back, so that a replay window can end before now.
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const [result] = await putEntries(h, [{ ...entryFor(h, change(tenantId)), Time: time }]);
    expect(result?.EventId).toBeDefined();
    await waitFor(() => receiver.requests.length >= 1 || undefined, { timeoutMs: 30_000, describe: () => `no delivery; runtime said:\n${h.logs.slice(-10).join('\n')}` });

    // The replay path: fan-out reads the replay (DescribeReplay) and updates the log records (UpdateItem).
    await replayAround(h, tenantId, time);
    await waitFor(() => receiver.requests.length >= 2 || undefined, { timeoutMs: 30_000, describe: () => `the replay was not delivered; runtime said:\n${h.logs.slice(-10).join('\n')}` });
    expect(iamLines(h).slice(denialsBefore)).toEqual([]);
  });
});

describe('roles missing a grant: one its function uses, and ones Lambda uses for it', () => {
  let h: Harness;
  let receiver: Receiver;

  /** Fan-out's delivery-log grant without dynamodb:UpdateItem: the bug that once reached AWS. */
  function withoutLogUpdate(template: CfnTemplate): CfnTemplate {
    const copy = structuredClone(template) as CfnTemplate;
    const [fanOutId, fanOut] = functionWithEnv(copy, ENV.fanOutDlqUrl);
    const logTable = envRef(fanOut, ENV.deliveryLogTable);
    const removed = removeActions(copy, fanOut, { 'Fn::GetAtt': [logTable, 'Arn'] }, ['dynamodb:UpdateItem']);
    if (removed !== 1) throw new Error(`expected one dynamodb:UpdateItem grant of ${fanOutId} on ${logTable}, found ${removed}`);
    return copy;
  }

  /**
   * The retry lane's role without sqs:ReceiveMessage and sqs:GetQueueAttributes on its own queue,
   * and fan-out's without sqs:SendMessage on its dead-letter queue (its on-failure destination).
   */
  function withoutLambdaGrants(template: CfnTemplate): CfnTemplate {
    const copy = structuredClone(template) as CfnTemplate;
    const [retryId, retry] = functionWithEnv(copy, ENV.deliveryLane, 'retry');
    const queueRef = envRef(retry, ENV.retryQueueUrl);
    const removed = removeActions(copy, retry, { 'Fn::GetAtt': [queueRef, 'Arn'] }, ['sqs:ReceiveMessage', 'sqs:GetQueueAttributes']);
    if (removed < 2) throw new Error(`expected sqs:ReceiveMessage and sqs:GetQueueAttributes grants of ${retryId} on ${queueRef}, found ${removed}`);
    const [fanOutId, fanOut] = functionWithEnv(copy, ENV.fanOutDlqUrl);
    const dlqRef = envRef(fanOut, ENV.fanOutDlqUrl);
    if (removeActions(copy, fanOut, { 'Fn::GetAtt': [dlqRef, 'Arn'] }, ['sqs:SendMessage']) < 1) throw new Error(`expected an sqs:SendMessage grant of ${fanOutId} on ${dlqRef}`);
    return copy;
  }

  beforeAll(async () => {
    h = await startHarness({ retrySchedule: [1, 1, 1, 1], maxAttempts: 3, transformTemplate: (t) => withoutLambdaGrants(withoutLogUpdate(t)), expectAccessDenied: true });
    receiver = await Receiver.start();
  }, 180_000);

  afterAll(async () => {
    await receiver?.stop();
    await h?.stop();
  });

  it("refuses a replayed event's log writes, says so, and fan-out goes on as it does on AWS", async () => {
    const tenantId = `iam-missing-${randomBytes(3).toString('hex')}`;
    await subscribe(h, { tenantId, url: receiver.url });
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    await putEntries(h, [{ ...entryFor(h, change(tenantId)), Time: time }]);
    await waitFor(() => receiver.requests.length >= 1 || undefined, { timeoutMs: 30_000, describe: () => `no delivery; runtime said:\n${h.logs.slice(-10).join('\n')}` });
    // A first delivery's log record is one BatchWriteItem (deliveryLog 'all', the default): nothing refused yet.
    expect(iamLines(h).filter((l) => l.startsWith('! IAM: FanOutFunction '))).toEqual([]);

    await replayAround(h, tenantId, time);
    // The log write is refused, but the delivery log only records: the replayed delivery still goes out.
    await waitFor(() => receiver.requests.length >= 2 || undefined, { timeoutMs: 30_000, describe: () => `the replay was not delivered; runtime said:\n${h.logs.slice(-10).join('\n')}` });
    const logArn = tableArn(h, h.runtime.outputs.DeliveryLogTableName!);
    await denialLogged(h, new RegExp(`^! IAM: FanOutFunction was denied dynamodb:UpdateItem on ${logArn} \\(no statement of role \\S+ allows it\\)$`));
    const warning = functionLogEntries(h).find((e) => e.message === 'delivery log could not be written; the delivery goes on' && e.tenantId === tenantId);
    expect(warning).toMatchObject({ logWrite: 'queued', reason: expect.stringMatching(/is not authorized to perform: dynamodb:UpdateItem on resource: .* because no identity-based policy allows the dynamodb:UpdateItem action/) });
  });

  it("polls with the function's role: the mapping's check and its receives are refused and said so", async () => {
    // Lambda checks the queue's attributes when it creates the mapping, then long-polls: both as the role.
    await denialLogged(h, /^! IAM: DeliveryRetryFunction was denied sqs:GetQueueAttributes on arn:aws:sqs:\S+:DeliveryRetryQueue\w+ /);
    await waitFor(() => h.logs.find((l) => /^! DeliveryRetryFunction: the event source mapping cannot read \S*DeliveryRetryQueue\S* \(.*not authorized.*\); on AWS the mapping would not be created$/.test(l)), {
      timeoutMs: 5_000,
      describe: () => `no line about the mapping's check; runtime said:\n${h.logs.slice(-10).join('\n')}`,
    });
    await denialLogged(h, /^! IAM: DeliveryRetryFunction was denied sqs:ReceiveMessage on arn:aws:sqs:\S+:DeliveryRetryQueue\w+ /);
    expect(h.logs.some((l) => /^! DeliveryRetryFunction: cannot poll \S*DeliveryRetryQueue\S* \(.*not authorized.*\); retrying$/.test(l))).toBe(true);
    // The fast lane's role is intact: its poller is never refused.
    expect(iamLines(h).filter((l) => l.startsWith('! IAM: DeliveryFunction '))).toEqual([]);
    expect(h.logs.some((l) => l.startsWith('! DeliveryFunction: '))).toBe(false);
  });

  it("sends a failed async invocation's record to its destination with the role: refused, the loss is said, not retried forever", async () => {
    await h.runtime.faults.dynamodb.down();
    try {
      // Fan-out cannot read subscriptions: Lambda retries it twice, then sends the failure record.
      await putEntries(h, [entryFor(h, change(`iam-destination-${randomBytes(3).toString('hex')}`))]);
      await denialLogged(h, /^! IAM: FanOutFunction was denied sqs:SendMessage on arn:aws:sqs:\S+:FanOutDeadLetterQueue\w+ /);
      // waitFor fails the test when no such line comes.
      await waitFor(() => h.logs.find((l) => /^! FanOutFunction: event \S+ failed after 3 invocation\(s\) .*; LOST: its destination refused it$/.test(l)), {
        timeoutMs: 10_000,
        describe: () => `no line about the lost record; runtime said:\n${h.logs.slice(-10).join('\n')}`,
      });
      expect(h.logs.some((l) => /^! FanOutFunction: its role may not send to its destination queue \(.*not authorized.*\); on AWS the record is lost \(DestinationDeliveryFailures\)$/.test(l))).toBe(true);
    } finally {
      await h.runtime.faults.dynamodb.up();
    }
    expect(await drain(h, h.runtime.outputs.FanOutDlqUrl!)).toEqual([]);
  });
});
