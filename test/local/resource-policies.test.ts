/**
 * What AWS services may do to the stack's resources (local/iam.ts compileResourcePolicies,
 * local/README.md "IAM"): EventBridge invokes a rule's Lambda target only under an
 * AWS::Lambda::Permission for events.amazonaws.com and that rule, and sends to an SQS target or a
 * dead-letter queue only under the queue's AWS::SQS::QueuePolicy. As on AWS, a target it may not
 * call is not retried (its event goes to the dead-letter queue at once, NO_PERMISSIONS), and an
 * event whose dead-letter queue refuses it is lost, said so.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventBridge, compileRouting } from '../../local/eventbridge';
import { type AccessDenial, EVENTS_PRINCIPAL, compileResourcePolicies, formatDenial, serviceContext, servicePrincipalDecision } from '../../local/iam';
import { type CfnTemplate, TemplateResolver } from '../../local/template';
import { type Fixture, type QueueFixture, REGION, fixture, queues, sleep } from './fixtures';

jest.setTimeout(30_000);

const ACCOUNT = '000000000000';
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
const ruleArn = (name: string) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/orders-bus/${name}`;
const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;

/** A queue policy statement letting EventBridge send for one rule (what CDK writes for a rule's DLQ). */
const eventsMaySend = (queue: string, rule: string) => ({
  Effect: 'Allow',
  Principal: { Service: EVENTS_PRINCIPAL },
  Action: 'sqs:SendMessage',
  Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
  Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
});
/** The TLS-only Deny every queue of the stack carries. */
const tlsOnly = (queue: string) => ({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: { 'Fn::GetAtt': [queue, 'Arn'] }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
const rule = (targets: unknown[]) => ({ Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['shop'] }, Targets: targets } });

const template: CfnTemplate = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders-bus' } },
    Dlq: { Type: 'AWS::SQS::Queue' },
    ClosedDlq: { Type: 'AWS::SQS::Queue' },
    Inbox: { Type: 'AWS::SQS::Queue' },
    Invoker: { Type: 'AWS::Lambda::Function' },
    // Permitted: its function lets this rule invoke it.
    Permitted: rule([{ Id: 'T', Arn: { 'Fn::GetAtt': ['Invoker', 'Arn'] } }]),
    PermittedInvoke: { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: { Ref: 'Invoker' }, Principal: EVENTS_PRINCIPAL, SourceArn: { 'Fn::GetAtt': ['Permitted', 'Arn'] } } },
    // Unpermitted: the same function, but the permission names another rule; its DLQ lets it send.
    Unpermitted: rule([{ Id: 'T', Arn: { 'Fn::GetAtt': ['Invoker', 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 3 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } }]),
    // Lost: no permission, and a DLQ whose policy lets only Unpermitted send.
    Lost: rule([{ Id: 'T', Arn: { 'Fn::GetAtt': ['Invoker', 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ClosedDlq', 'Arn'] } } }]),
    // ToInbox: an SQS target without a policy for EventBridge.
    ToInbox: rule([{ Id: 'T', Arn: { 'Fn::GetAtt': ['Inbox', 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } }]),
    DlqPolicy: { Type: 'AWS::SQS::QueuePolicy', Properties: { Queues: [{ Ref: 'Dlq' }], PolicyDocument: { Statement: [tlsOnly('Dlq'), eventsMaySend('Dlq', 'Unpermitted'), eventsMaySend('Dlq', 'ToInbox')] } } },
    ClosedDlqPolicy: { Type: 'AWS::SQS::QueuePolicy', Properties: { Queues: [{ Ref: 'ClosedDlq' }], PolicyDocument: { Statement: [tlsOnly('ClosedDlq'), eventsMaySend('ClosedDlq', 'Unpermitted')] } } },
  },
};

describe('compiled resource policies', () => {
  const resolver = new TemplateResolver(template, { region: REGION, accountId: ACCOUNT, stackName: 'Test' });
  resolver.define('Invoker', { ref: 'invoker', attributes: { Arn: fnArn('invoker') } });
  for (const q of ['Dlq', 'ClosedDlq', 'Inbox']) resolver.define(q, { ref: `http://127.0.0.1:1/${ACCOUNT}/${q}`, attributes: { Arn: queueArn(q) } });
  const arnOfUrl = (url: string) => queueArn(url.split('/').pop()!);
  // Defines the rules' ARNs in the resolver, which the permissions' SourceArn and the policies' conditions refer to.
  compileRouting(template, resolver, { queueUrlOfArn: (arn) => `http://127.0.0.1:1/${ACCOUNT}/${arn.split(':').pop()}`, resolveTarget: () => async () => undefined });
  const { policies, warnings } = compileResourcePolicies(template, resolver, arnOfUrl);
  const decide = (action: string, resource: string, source: string, principal = EVENTS_PRINCIPAL) => servicePrincipalDecision(policies, principal, { action, resource }, serviceContext(source, REGION, ACCOUNT));

  it("lets EventBridge invoke a function for the rule its permission names (FunctionName given as the function's name), and for no other rule", () => {
    expect(decide('lambda:InvokeFunction', fnArn('invoker'), ruleArn('Permitted'))).toMatchObject({ allowed: true, statement: 'PermittedInvoke (AWS::Lambda::Permission)' });
    expect(decide('lambda:InvokeFunction', fnArn('invoker'), ruleArn('Unpermitted'))).toEqual({ allowed: false, reason: 'no-allow', unevaluated: [] });
    // The permission is for EventBridge: another service gets nothing from it.
    expect(decide('lambda:InvokeFunction', fnArn('invoker'), ruleArn('Permitted'), 'sns.amazonaws.com')).toMatchObject({ allowed: false });
    expect(decide('lambda:GetFunction', fnArn('invoker'), ruleArn('Permitted'))).toMatchObject({ allowed: false });
    expect(warnings).toEqual([]);
  });

  it("lets EventBridge send to a queue only for the rules its policy names; the TLS-only Deny does not apply to a service's call", () => {
    expect(decide('sqs:SendMessage', queueArn('Dlq'), ruleArn('Unpermitted'))).toMatchObject({ allowed: true });
    expect(decide('sqs:SendMessage', queueArn('ClosedDlq'), ruleArn('Lost'))).toMatchObject({ allowed: false, reason: 'no-allow' });
    expect(decide('sqs:SendMessage', queueArn('Inbox'), ruleArn('ToInbox'))).toMatchObject({ allowed: false, reason: 'no-allow' });
    expect(decide('sqs:DeleteMessage', queueArn('Dlq'), ruleArn('Unpermitted'))).toMatchObject({ allowed: false });
  });

  it('an explicit Deny for everyone wins over the Allow for EventBridge', () => {
    const denying: CfnTemplate = structuredClone(template);
    (denying.Resources.DlqPolicy!.Properties!.PolicyDocument as { Statement: unknown[] }).Statement.push({ Sid: 'Frozen', Effect: 'Deny', Principal: '*', Action: 'sqs:SendMessage', Resource: '*' });
    const { policies: p } = compileResourcePolicies(denying, resolver, arnOfUrl);
    expect(servicePrincipalDecision(p, EVENTS_PRINCIPAL, { action: 'sqs:SendMessage', resource: queueArn('Dlq') }, serviceContext(ruleArn('Unpermitted'), REGION, ACCOUNT))).toEqual({
      allowed: false,
      reason: 'explicit-deny',
      statement: 'DlqPolicy statement Frozen',
      unevaluated: [],
    });
  });

  it('names what it does not evaluate: a permission limited to an organization, a NotPrincipal statement', () => {
    const org: CfnTemplate = structuredClone(template);
    org.Resources.PermittedInvoke!.Properties!.PrincipalOrgID = 'o-abc';
    (org.Resources.DlqPolicy!.Properties!.PolicyDocument as { Statement: unknown[] }).Statement.push({ Sid: 'AllButMe', Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sqs:*', Resource: '*' });
    expect(compileResourcePolicies(org, resolver, () => undefined).warnings).toEqual(
      expect.arrayContaining([
        'PermittedInvoke: PrincipalOrgID is not evaluated locally; the permission applies without it',
        'DlqPolicy statement AllButMe: NotPrincipal is not evaluated locally, so this statement is left out',
        expect.stringMatching(/^DlqPolicy: http:\S+\/Dlq is not a queue of this template/),
      ]),
    );
  });
});

describe('EventBridge under the resource policies', () => {
  let f: Fixture;
  let q: QueueFixture;
  let bridge: LocalEventBridge;
  let client: EventBridgeClient;
  const invoked: unknown[] = [];
  const inbox: unknown[] = [];
  const logs: string[] = [];
  const denials: AccessDenial[] = [];

  beforeAll(async () => {
    f = await fixture();
    q = await queues(f, { Dlq: {}, ClosedDlq: {}, Inbox: {} });
    const resolver = new TemplateResolver(template, { region: REGION, accountId: ACCOUNT, stackName: 'Test' });
    resolver.define('Invoker', { ref: 'invoker', attributes: { Arn: fnArn('invoker') } });
    for (const queue of q.queues.values()) resolver.define(queue.logicalId, { ref: queue.url, attributes: { Arn: queue.arn } });
    const byArn = new Map([...q.queues.values()].map((x) => [x.arn, x]));
    const byUrl = new Map([...q.queues.values()].map((x) => [x.url, x.arn]));
    const routing = compileRouting(template, resolver, {
      queueUrlOfArn: (arn) => byArn.get(arn)?.url,
      resolveTarget: (arn) => async (payload) => void (arn.includes(':lambda:') ? invoked : inbox).push(payload),
    });
    bridge = new LocalEventBridge({ sqs: q.sqs, region: REGION, accountId: ACCOUNT, log: (l) => logs.push(l), targetRetryDelayMs: () => 20 });
    bridge.configure(routing);
    bridge.enforceResourcePolicies(compileResourcePolicies(template, resolver, (url) => byUrl.get(url)).policies, (d) => denials.push(d));
    client = new EventBridgeClient({ endpoint: await bridge.start(), region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  });

  afterAll(async () => {
    client?.destroy();
    await bridge?.stop();
    await q?.stop();
    f?.cleanup();
  });

  it('a permitted target is called; one EventBridge may not call is not, and each event goes to its DLQ at once with NO_PERMISSIONS, or is lost when the DLQ refuses it', async () => {
    const out = await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'orders-bus', Source: 'shop', DetailType: 'Order Placed', Detail: '{"n":1}' }] }));
    const eventId = out.Entries![0]!.EventId!;
    const parked = [];
    for (let i = 0; i < 10 && parked.length < 2; i++) {
      const got = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queues.get('Dlq')!.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
      parked.push(...(got.Messages ?? []));
    }
    // Four rules matched: the function was invoked once (Permitted); Unpermitted and ToInbox parked; Lost lost.
    expect(invoked).toEqual([expect.objectContaining({ id: eventId })]);
    expect(inbox).toEqual([]);
    const attrs = parked.map((m) => Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue])));
    expect(attrs.sort((a, b) => String(a.RULE_ARN).localeCompare(String(b.RULE_ARN)))).toEqual([
      {
        RULE_ARN: ruleArn('ToInbox'),
        TARGET_ARN: q.queues.get('Inbox')!.arn,
        ERROR_CODE: 'NO_PERMISSIONS',
        ERROR_MESSAGE: `Error: ${EVENTS_PRINCIPAL} is not authorized to perform: sqs:SendMessage on resource: ${q.queues.get('Inbox')!.arn} because no resource-based policy allows it`,
        RETRY_ATTEMPTS: '0',
      },
      {
        RULE_ARN: ruleArn('Unpermitted'),
        TARGET_ARN: fnArn('invoker'),
        ERROR_CODE: 'NO_PERMISSIONS',
        ERROR_MESSAGE: `Error: ${EVENTS_PRINCIPAL} is not authorized to perform: lambda:InvokeFunction on resource: ${fnArn('invoker')} because no resource-based policy allows it`,
        RETRY_ATTEMPTS: '0',
      },
    ]);
    expect(parked.map((m) => JSON.parse(m.Body!).id)).toEqual([eventId, eventId]);
    for (let i = 0; i < 50 && !logs.some((l) => l.includes('rule Lost')); i++) await sleep(20);
    expect(logs).toContainEqual(
      `! rule Lost: event ${eventId} could not be delivered to ${fnArn('invoker')} (Error: ${EVENTS_PRINCIPAL} is not authorized to perform: lambda:InvokeFunction on resource: ${fnArn('invoker')} because no resource-based policy allows it), and the policy of its dead-letter queue does not let EventBridge send it there: on AWS the event is lost (InvocationsFailedToBeSentToDLQ)`,
    );
    expect(denials.map(formatDenial).sort()).toEqual(
      [
        `! IAM: EventBridge (rule Lost) was denied lambda:InvokeFunction on ${fnArn('invoker')} (no statement of the resource's policy allows ${EVENTS_PRINCIPAL})`,
        `! IAM: EventBridge (rule Lost) was denied sqs:SendMessage on ${q.queues.get('ClosedDlq')!.arn} (no statement of the resource's policy allows ${EVENTS_PRINCIPAL})`,
        `! IAM: EventBridge (rule ToInbox) was denied sqs:SendMessage on ${q.queues.get('Inbox')!.arn} (no statement of the resource's policy allows ${EVENTS_PRINCIPAL})`,
        `! IAM: EventBridge (rule Unpermitted) was denied lambda:InvokeFunction on ${fnArn('invoker')} (no statement of the resource's policy allows ${EVENTS_PRINCIPAL})`,
      ].sort(),
    );
    // Nothing else arrives in either DLQ.
    const closed = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queues.get('ClosedDlq')!.url, WaitTimeSeconds: 0 }));
    expect(closed.Messages ?? []).toEqual([]);
  });
});
