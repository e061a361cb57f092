/**
 * The local IAM evaluator (local/iam.ts): roles compiled from a hand-written template, requests
 * mapped to actions and resources as AWS authorizes them, and the decisions.
 */
import {
  AccessControl,
  type CompiledStatement,
  accessKeyIdOf,
  compileIamPolicies,
  dynamoDbAccess,
  evaluate,
  eventBridgeAccess,
  formatDenial,
  functionAccessKeyId,
  sqsAccess,
  type AccessDenial,
} from '../../local/iam';
import { DeniedCalls } from '../../local/startup/iam';
import { type CfnTemplate, TemplateResolver, UnsupportedTemplateError } from '../../local/template';

const REGION = 'eu-west-1';
const ACCOUNT = '000000000000';
const table = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
const queue = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;

const allow = (action: string | string[], resource: string | string[], extra: Partial<CompiledStatement> = {}): CompiledStatement => ({
  where: `test ${JSON.stringify(action)}`,
  effect: 'Allow',
  action: [action].flat(),
  resource: [resource].flat(),
  ...extra,
});
const deny = (action: string | string[], resource: string | string[], extra: Partial<CompiledStatement> = {}): CompiledStatement => ({ ...allow(action, resource, extra), effect: 'Deny', where: 'the deny' });

describe('evaluate', () => {
  it('allows what a statement names, and nothing else (implicit deny)', () => {
    const statements = [allow('dynamodb:UpdateItem', table('Log'))];
    expect(evaluate(statements, { action: 'dynamodb:UpdateItem', resource: table('Log') })).toMatchObject({ allowed: true });
    expect(evaluate(statements, { action: 'dynamodb:PutItem', resource: table('Log') })).toEqual({ allowed: false, reason: 'no-allow', unevaluated: [] });
    expect(evaluate(statements, { action: 'dynamodb:UpdateItem', resource: table('Subscriptions') })).toMatchObject({ allowed: false, reason: 'no-allow' });
    expect(evaluate([], { action: 'dynamodb:UpdateItem', resource: table('Log') })).toMatchObject({ allowed: false });
  });

  it('takes Action and Resource as lists', () => {
    const statements = [allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table('A'), table('B')])];
    for (const action of ['dynamodb:GetItem', 'dynamodb:UpdateItem']) {
      for (const t of ['A', 'B']) expect(evaluate(statements, { action, resource: table(t) }).allowed).toBe(true);
    }
    expect(evaluate(statements, { action: 'dynamodb:GetItem', resource: table('C') }).allowed).toBe(false);
  });

  it('matches * and ? wildcards; actions ignore case, resources do not', () => {
    const statements = [allow('sqs:Send*', queue('jobs-?')), allow('dynamodb:*', `${table('Log')}*`), allow('events:describereplay', `arn:aws:events:${REGION}:${ACCOUNT}:replay/statushooks-*`)];
    expect(evaluate(statements, { action: 'sqs:SendMessage', resource: queue('jobs-1') }).allowed).toBe(true);
    expect(evaluate(statements, { action: 'sqs:SendMessage', resource: queue('jobs-12') }).allowed).toBe(false);
    expect(evaluate(statements, { action: 'sqs:SendMessage', resource: queue('Jobs-1') }).allowed).toBe(false);
    expect(evaluate(statements, { action: 'sqs:ReceiveMessage', resource: queue('jobs-1') }).allowed).toBe(false);
    expect(evaluate(statements, { action: 'SQS:SENDMESSAGE', resource: queue('jobs-1') }).allowed).toBe(true);
    // * spans '/' (an index ARN) and regex characters in ARNs are literal
    expect(evaluate(statements, { action: 'dynamodb:Query', resource: `${table('Log')}/index/byTime` }).allowed).toBe(true);
    expect(evaluate([allow('dynamodb:Query', table('a.b'))], { action: 'dynamodb:Query', resource: table('aXb') }).allowed).toBe(false);
    expect(evaluate(statements, { action: 'events:DescribeReplay', resource: `arn:aws:events:${REGION}:${ACCOUNT}:replay/statushooks-1-x` }).allowed).toBe(true);
    expect(evaluate(statements, { action: 'events:DescribeReplay', resource: `arn:aws:events:${REGION}:${ACCOUNT}:replay/other` }).allowed).toBe(false);
    expect(evaluate([allow('*', '*')], { action: 'sqs:PurgeQueue', resource: queue('x') }).allowed).toBe(true);
  });

  it('lets an explicit Deny win over any Allow, in any order', () => {
    const d = deny('dynamodb:DeleteItem', '*');
    const a = allow('dynamodb:*', table('Log'));
    for (const statements of [[a, d], [d, a]]) {
      expect(evaluate(statements, { action: 'dynamodb:DeleteItem', resource: table('Log') })).toEqual({ allowed: false, reason: 'explicit-deny', statement: 'the deny', unevaluated: [] });
      expect(evaluate(statements, { action: 'dynamodb:GetItem', resource: table('Log') }).allowed).toBe(true);
    }
  });

  it('supports NotAction and NotResource', () => {
    const statements: CompiledStatement[] = [{ where: 'na', effect: 'Allow', notAction: ['dynamodb:Delete*'], resource: [table('Log')] }, { where: 'nr', effect: 'Allow', action: ['sqs:SendMessage'], notResource: [queue('dlq')] }];
    expect(evaluate(statements, { action: 'dynamodb:PutItem', resource: table('Log') }).allowed).toBe(true);
    expect(evaluate(statements, { action: 'dynamodb:DeleteItem', resource: table('Log') }).allowed).toBe(false);
    expect(evaluate(statements, { action: 'sqs:SendMessage', resource: queue('jobs') }).allowed).toBe(true);
    expect(evaluate(statements, { action: 'sqs:SendMessage', resource: queue('dlq') }).allowed).toBe(false);
  });

  it('never allows under a Condition it does not understand, and says which', () => {
    const statements = [allow('dynamodb:GetItem', table('Log'), { where: 'leading keys', condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['t1'] } } })];
    expect(evaluate(statements, { action: 'dynamodb:GetItem', resource: table('Log') })).toEqual({
      allowed: false,
      reason: 'no-allow',
      unevaluated: ['leading keys (ForAllValues:StringEquals dynamodb:LeadingKeys)'],
    });
    // …nor denies under one
    const guarded = [allow('dynamodb:GetItem', '*'), deny('dynamodb:GetItem', '*', { condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } })];
    expect(evaluate(guarded, { action: 'dynamodb:GetItem', resource: table('Log') }).allowed).toBe(true);
  });

  it('evaluates the conditions it knows against the request context', () => {
    const context = { 'aws:securetransport': 'true', 'aws:requestedregion': REGION };
    const tls = [allow('sqs:SendMessage', '*'), deny('sqs:*', '*', { condition: { Bool: { 'aws:SecureTransport': 'false' } } })];
    expect(evaluate(tls, { action: 'sqs:SendMessage', resource: queue('q') }, context).allowed).toBe(true);
    const region = (r: string) => [allow('sqs:SendMessage', '*', { condition: { StringEquals: { 'aws:RequestedRegion': [r, 'us-west-2'] } } })];
    expect(evaluate(region(REGION), { action: 'sqs:SendMessage', resource: queue('q') }, context).allowed).toBe(true);
    expect(evaluate(region('ap-south-1'), { action: 'sqs:SendMessage', resource: queue('q') }, context).allowed).toBe(false);
    const notLike = [allow('sqs:SendMessage', '*', { condition: { StringNotLike: { 'aws:RequestedRegion': 'eu-*' } } })];
    expect(evaluate(notLike, { action: 'sqs:SendMessage', resource: queue('q') }, context).allowed).toBe(false);
  });
});

describe('what a request asks for', () => {
  it('DynamoDB: the operation on the table; an index for Query/Scan; each table of a batch', () => {
    expect(dynamoDbAccess('UpdateItem', { TableName: 'Log' }, table)).toEqual([{ action: 'dynamodb:UpdateItem', resource: table('Log') }]);
    expect(dynamoDbAccess('Query', { TableName: 'Log', IndexName: 'byTime' }, table)).toEqual([{ action: 'dynamodb:Query', resource: `${table('Log')}/index/byTime` }]);
    expect(dynamoDbAccess('Scan', { TableName: 'Log' }, table)).toEqual([{ action: 'dynamodb:Scan', resource: table('Log') }]);
    expect(dynamoDbAccess('BatchWriteItem', { RequestItems: { A: [], B: [] } }, table)).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: table('A') },
      { action: 'dynamodb:BatchWriteItem', resource: table('B') },
    ]);
    expect(dynamoDbAccess('BatchGetItem', { RequestItems: { A: {} } }, table)).toEqual([{ action: 'dynamodb:BatchGetItem', resource: table('A') }]);
    expect(dynamoDbAccess('TransactWriteItems', { TransactItems: [{ Put: { TableName: 'A' } }, { ConditionCheck: { TableName: 'B' } }] }, table)).toEqual([
      { action: 'dynamodb:PutItem', resource: table('A') },
      { action: 'dynamodb:ConditionCheckItem', resource: table('B') },
    ]);
    expect(dynamoDbAccess('ListTables', {}, table)).toEqual([{ action: 'dynamodb:ListTables', resource: '*' }]);
  });

  it('SQS: batch operations are authorized as their single action, on the queue of QueueUrl', () => {
    const arn = (urlOrName: string) => queue(urlOrName.slice(urlOrName.lastIndexOf('/') + 1));
    const url = 'http://127.0.0.1:9324/000000000000/jobs';
    expect(sqsAccess('SendMessageBatch', { QueueUrl: url }, arn)).toEqual([{ action: 'sqs:SendMessage', resource: queue('jobs') }]);
    expect(sqsAccess('DeleteMessageBatch', { QueueUrl: url }, arn)).toEqual([{ action: 'sqs:DeleteMessage', resource: queue('jobs') }]);
    expect(sqsAccess('ChangeMessageVisibilityBatch', { QueueUrl: url }, arn)).toEqual([{ action: 'sqs:ChangeMessageVisibility', resource: queue('jobs') }]);
    expect(sqsAccess('ReceiveMessage', { QueueUrl: url }, arn)).toEqual([{ action: 'sqs:ReceiveMessage', resource: queue('jobs') }]);
    expect(sqsAccess('GetQueueUrl', { QueueName: 'jobs' }, arn)).toEqual([{ action: 'sqs:GetQueueUrl', resource: queue('jobs') }]);
    expect(sqsAccess('ListQueues', {}, arn)).toEqual([{ action: 'sqs:ListQueues', resource: '*' }]);
  });

  it('EventBridge: PutEvents on each bus its entries name (default bus otherwise), replays by ARN', () => {
    const bus = (name: string) => `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
    expect(eventBridgeAccess('PutEvents', { Entries: [{ EventBusName: 'hooks' }, {}, { EventBusName: bus('hooks') }, { EventBusName: bus('other') }] }, REGION, ACCOUNT)).toEqual([
      { action: 'events:PutEvents', resource: bus('hooks'), context: {} },
      { action: 'events:PutEvents', resource: bus('default'), context: {} },
      { action: 'events:PutEvents', resource: bus('other'), context: {} },
    ]);
    // Each entry carries its source and detail type as condition keys (events:source, events:detail-type).
    const entries = [
      { EventBusName: 'hooks', Source: 'statushooks', DetailType: 'statushooks.endpoint.failing' },
      { EventBusName: 'hooks', Source: 'statushooks', DetailType: 'statushooks.endpoint.failing' },
      { EventBusName: 'hooks', Source: 'returns.cloud', DetailType: 'return_order.status.changed' },
    ];
    expect(eventBridgeAccess('PutEvents', { Entries: entries }, REGION, ACCOUNT)).toEqual([
      { action: 'events:PutEvents', resource: bus('hooks'), context: { 'events:source': 'statushooks', 'events:detail-type': 'statushooks.endpoint.failing' } },
      { action: 'events:PutEvents', resource: bus('hooks'), context: { 'events:source': 'returns.cloud', 'events:detail-type': 'return_order.status.changed' } },
    ]);
    expect(eventBridgeAccess('DescribeReplay', { ReplayName: 'statushooks-1' }, REGION, ACCOUNT)).toEqual([{ action: 'events:DescribeReplay', resource: `arn:aws:events:${REGION}:${ACCOUNT}:replay/statushooks-1` }]);
    expect(eventBridgeAccess('ListReplays', {}, REGION, ACCOUNT)).toEqual([{ action: 'events:ListReplays', resource: '*' }]);
  });
});

describe('credentials', () => {
  it("gives each function a stable access key id of AWS's shape", () => {
    const key = functionAccessKeyId('FanOutFunctionA0BAF8B2');
    expect(key).toMatch(/^LOCALFN[A-Z2-7]{13}$/);
    expect(functionAccessKeyId('FanOutFunctionA0BAF8B2')).toBe(key);
    expect(functionAccessKeyId('DeliveryFunction8263A102')).not.toBe(key);
  });

  it('reads the access key id of a SigV4 Authorization header', () => {
    expect(accessKeyIdOf('AWS4-HMAC-SHA256 Credential=LOCALFNABC/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00')).toBe('LOCALFNABC');
    expect(accessKeyIdOf(undefined)).toBeUndefined();
    expect(accessKeyIdOf('Bearer x')).toBeUndefined();
  });
});

// A template shaped like CDK's: a function, its role with an inline policy, a separate
// AWS::IAM::Policy attached to it, a managed policy ARN, and a second role that is not its.
function stack(): { template: CfnTemplate; resolver: TemplateResolver } {
  const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  const template: CfnTemplate = {
    Resources: {
      Log: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Subs: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Jobs: { Type: 'AWS::SQS::Queue', Properties: {} },
      LogGroup: { Type: 'AWS::Logs::LogGroup', Properties: {} },
      FnRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] }],
          Policies: [{ PolicyName: 'inline', PolicyDocument: { Statement: { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [getAtt('Subs'), '/index/*']] } } } }],
        },
      },
      FnPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'FnRole' }],
          PolicyDocument: {
            Statement: [
              // Not an emulated service, and its resource does not resolve locally: left out.
              { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: getAtt('LogGroup') },
              { Effect: 'Allow', Action: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'], Resource: getAtt('Log') },
              { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: getAtt('Jobs') },
              { Sid: 'NoDeletes', Effect: 'Deny', Action: 'dynamodb:Delete*', Resource: '*' },
            ],
          },
        },
      },
      OtherRole: { Type: 'AWS::IAM::Role', Properties: {} },
      OtherPolicy: { Type: 'AWS::IAM::Policy', Properties: { Roles: [{ Ref: 'OtherRole' }], PolicyDocument: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } } },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: getAtt('FnRole') } },
      Imported: { Type: 'AWS::Lambda::Function', Properties: { Role: 'arn:aws:iam::123456789012:role/elsewhere' } },
    },
  };
  const resolver = new TemplateResolver(template, { region: REGION, accountId: ACCOUNT, stackName: 'Test' });
  resolver.define('Log', { ref: 'Log', attributes: { Arn: table('Log') } });
  resolver.define('Subs', { ref: 'Subs', attributes: { Arn: table('Subs') } });
  resolver.define('Jobs', { ref: 'http://127.0.0.1:1/000000000000/Jobs', attributes: { Arn: queue('Jobs') } });
  for (const id of ['FnRole', 'OtherRole', 'FnPolicy', 'OtherPolicy']) resolver.define(id, { ref: id, attributes: {} });
  return { template, resolver };
}

describe('compileIamPolicies', () => {
  const compile = () => {
    const { template, resolver } = stack();
    return compileIamPolicies(template, resolver, [{ logicalId: 'Fn', name: 'fn-name', displayName: 'Fn' }, { logicalId: 'Imported', name: 'Imported' }], {
      tableArns: { Log: table('Log'), Subs: table('Subs') },
      queueArns: { Jobs: queue('Jobs') },
    });
  };

  it("collects the role's inline and attached policies, resolved to local ARNs, and only those", () => {
    const { policies } = compile();
    expect(policies.identities).toHaveLength(1);
    const [fn] = policies.identities;
    expect(fn).toMatchObject({ accessKeyId: functionAccessKeyId('Fn'), roleName: 'FnRole', principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/FnRole/fn-name` });
    expect(fn!.statements.map((s) => [s.effect, s.action, s.resource])).toEqual([
      ['Allow', ['dynamodb:Query'], [`${table('Subs')}/index/*`]],
      ['Allow', ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'], [table('Log')]],
      ['Allow', ['sqs:SendMessage'], [queue('Jobs')]],
      ['Deny', ['dynamodb:Delete*'], ['*']],
    ]);
    expect(fn!.statements[3]!.where).toBe('FnPolicy statement NoDeletes');
  });

  it('warns about what it cannot check: a role from outside the template', () => {
    const { warnings } = compile();
    expect(warnings).toEqual([expect.stringMatching(/^function Imported: its role "arn:aws:iam::123456789012:role\/elsewhere" is not an AWS::IAM::Role of this template/)]);
  });

  it('warns about an unknown managed policy and a Condition it does not understand', () => {
    const { template, resolver } = stack();
    const role = template.Resources.FnRole!.Properties!;
    (role.ManagedPolicyArns as unknown[]).push('arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess');
    (role.Policies as Array<{ PolicyDocument: { Statement: unknown } }>)[0]!.PolicyDocument.Statement = {
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } },
    };
    const { warnings } = compileIamPolicies(template, resolver, [{ logicalId: 'Fn', name: 'Fn' }], { tableArns: {}, queueArns: {} });
    expect(warnings).toEqual([
      'FnRole inline policy inline statement 0: Condition StringEquals aws:SourceVpce is not understood locally, so this statement allows nothing',
      'role FnRole: managed policy arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess is not known locally; what it grants is refused to Fn',
    ]);
  });

  it('refuses, by name, an emulated-service statement whose resource does not resolve', () => {
    const { template, resolver } = stack();
    (template.Resources.FnPolicy!.Properties!.PolicyDocument as { Statement: unknown[] }).Statement.push({ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': ['LogGroup', 'Arn'] } });
    expect(() => compileIamPolicies(template, resolver, [{ logicalId: 'Fn', name: 'Fn' }], { tableArns: {}, queueArns: {} })).toThrow(UnsupportedTemplateError);
  });
});

describe('AccessControl', () => {
  const { template, resolver } = stack();
  const { policies } = compileIamPolicies(template, resolver, [{ logicalId: 'Fn', name: 'Fn', displayName: 'Fn' }], {
    tableArns: { Log: table('Log'), Subs: table('Subs') },
    queueArns: { Jobs: queue('Jobs') },
  });
  const control = new AccessControl(policies);
  const signed = (akid: string) => `AWS4-HMAC-SHA256 Credential=${akid}/20260101/${REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`;
  const fn = signed(functionAccessKeyId('Fn'));

  it('checks only the functions: other callers are not judged', () => {
    expect(control.check(signed('local'), 'dynamodb', 'DeleteTable', { TableName: 'Log' })).toBeUndefined();
    expect(control.check(undefined, 'dynamodb', 'DeleteTable', { TableName: 'Log' })).toBeUndefined();
  });

  it("allows a function's granted calls and denies the rest with AWS's message", () => {
    expect(control.check(fn, 'dynamodb', 'UpdateItem', { TableName: 'Log' })).toBeUndefined();
    expect(control.check(fn, 'dynamodb', 'Query', { TableName: 'Subs', IndexName: 'byUrl' })).toBeUndefined();
    const denial = control.check(fn, 'dynamodb', 'UpdateItem', { TableName: 'Subs' });
    expect(denial).toMatchObject({ action: 'dynamodb:UpdateItem', resource: table('Subs'), reason: 'no-allow' });
    expect(denial!.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/FnRole/Fn is not authorized to perform: dynamodb:UpdateItem on resource: ${table('Subs')} because no identity-based policy allows the dynamodb:UpdateItem action`,
    );
    expect(formatDenial(denial!)).toMatch(/^! IAM: Fn was denied dynamodb:UpdateItem on arn:aws:dynamodb:eu-west-1:000000000000:table\/Subs/);
    // the table's own ARN does not cover its indexes
    expect(control.check(fn, 'dynamodb', 'Query', { TableName: 'Log', IndexName: 'byTime' })).toMatchObject({ resource: `${table('Log')}/index/byTime` });
  });

  it('denies a batch when any of its tables is not granted', () => {
    expect(control.check(fn, 'dynamodb', 'BatchWriteItem', { RequestItems: { Log: [] } })).toBeUndefined();
    expect(control.check(fn, 'dynamodb', 'BatchWriteItem', { RequestItems: { Log: [], Subs: [] } })).toMatchObject({ resource: table('Subs') });
  });

  it('names an explicit deny as AWS does', () => {
    const denial = control.check(fn, 'dynamodb', 'DeleteItem', { TableName: 'Log' });
    expect(denial).toMatchObject({ reason: 'explicit-deny', statement: 'FnPolicy statement NoDeletes' });
    expect(denial!.message).toMatch(/is not authorized to perform: dynamodb:DeleteItem on resource: .* with an explicit deny in an identity-based policy$/);
  });

  it('maps SQS batches and queue URLs; SQS spells the action in lower case', () => {
    const url = 'http://127.0.0.1:4566/000000000000/Jobs';
    expect(control.check(fn, 'sqs', 'SendMessageBatch', { QueueUrl: url })).toBeUndefined();
    const denial = control.check(fn, 'sqs', 'DeleteMessageBatch', { QueueUrl: url });
    expect(denial).toMatchObject({ action: 'sqs:DeleteMessage', resource: queue('Jobs') });
    expect(denial!.message).toContain('is not authorized to perform: sqs:deletemessage on resource: arn:aws:sqs:eu-west-1:000000000000:Jobs because no identity-based policy allows the sqs:deletemessage action');
  });

  it('says in the message when only a Condition it does not understand stood in the way', () => {
    const { template: t, resolver: r } = stack();
    (t.Resources.FnPolicy!.Properties!.PolicyDocument as { Statement: unknown[] }).Statement.push({ Sid: 'Vpce', Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*', Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } });
    const c = new AccessControl(compileIamPolicies(t, r, [{ logicalId: 'Fn', name: 'Fn' }], { tableArns: {}, queueArns: {} }).policies);
    const denial = c.check(fn, 'dynamodb', 'GetItem', { TableName: 'Log' });
    expect(denial!.message).toMatch(/because no identity-based policy allows the dynamodb:GetItem action \(local runtime: allowed only under a Condition the local IAM evaluator does not understand: FnPolicy statement Vpce \(StringEquals aws:SourceVpce\)\)$/);
    expect(formatDenial(denial!)).toContain('Condition not understood locally in FnPolicy statement Vpce');
  });
});

describe('DeniedCalls (what the runtime prints)', () => {
  const denial = (action: string, resource = queue('jobs')): AccessDenial => ({
    functionName: 'stack-Retry',
    displayName: 'RetryFunction',
    roleName: 'RetryRole',
    action,
    resource,
    reason: 'no-allow',
    unevaluated: [],
    message: `User: x is not authorized to perform: ${action}`,
  });

  it('prints a denial once a minute while it repeats (a poller retrying), and keeps every one', () => {
    const lines: string[] = [];
    let now = 0;
    const denied = new DeniedCalls((line) => lines.push(line), () => now);
    denied.record(denial('sqs:ReceiveMessage'));
    now += 2_000;
    denied.record(denial('sqs:ReceiveMessage'));
    denied.record(denial('sqs:ReceiveMessage'));
    // Another action or resource is another denial: printed at once.
    denied.record(denial('sqs:GetQueueAttributes'));
    denied.record(denial('sqs:ReceiveMessage', queue('other')));
    expect(lines).toEqual([
      formatDenial(denial('sqs:ReceiveMessage')),
      formatDenial(denial('sqs:GetQueueAttributes')),
      formatDenial(denial('sqs:ReceiveMessage', queue('other'))),
    ]);
    now += 60_000;
    denied.record(denial('sqs:ReceiveMessage'));
    expect(lines[3]).toBe(`${formatDenial(denial('sqs:ReceiveMessage'))}; 2 more times since it was last shown`);
    expect(denied.denials).toHaveLength(6);
  });
});
