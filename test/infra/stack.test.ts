import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { EVENT_NAMES } from '../../lambdas/core/catalog';
import { DEFAULTS, ENV } from '../../lambdas/core/config';
import { observability } from '../../lambdas/adapters/observability';
import { METRIC, type MetricName } from '../../lambdas/core/ports';
import { FUNCTION_BUNDLE } from '../../lib/bundle-options';
import { INFRA_DEFAULTS } from '../../lib/defaults';
import { compilePattern } from '../../local/patterns';
import { actionsOf, getAtt, ref, roleIdOf, statementsOf, synth, type Synthesized } from './synth';

// The default stage, as `npx cdk synth` builds it with no context.
let s: Synthesized;
let ids: {
  bus: string;
  rule: string;
  table: string;
  deliveryQueue: string;
  deliveryDlq: string;
  fanOutDlq: string;
  fanOutFn: string;
  deliveryFn: string;
  retryQueue: string;
  retryFn: string;
  healthTable: string;
  deliveryLog: string;
};

beforeAll(() => {
  s = synth();
  const { stack } = s;
  ids = {
    bus: s.idOf(stack.eventBus.bus),
    rule: s.idOf(stack.eventBus.rule),
    table: s.idOf(stack.subscriptions.table),
    deliveryQueue: s.idOf(stack.delivery.queue),
    deliveryDlq: s.idOf(stack.delivery.deadLetterQueue),
    fanOutDlq: s.idOf(stack.fanOut.deadLetterQueue),
    fanOutFn: s.idOf(stack.fanOut.function),
    deliveryFn: s.idOf(stack.delivery.function),
    retryQueue: s.idOf(stack.delivery.retryQueue),
    retryFn: s.idOf(stack.delivery.retryFunction),
    healthTable: s.idOf(stack.health.table),
    deliveryLog: s.idOf(stack.deliveryLog.table),
  };
});
afterAll(() => s?.cleanup());

// Template JSON is untyped by nature; the assertions below pin what matters.
const resourceProps = (logicalId: string) => s.template.toJSON().Resources[logicalId].Properties;
const packageVersion = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

describe('event bus and rule (producer contract)', () => {
  it('accepts exactly the configured source and the five catalog event names', () => {
    const pattern = resourceProps(ids.rule).EventPattern;
    expect(pattern).toEqual({ source: [...DEFAULTS.sources], 'detail-type': [...EVENT_NAMES] });
    expect(new Set(pattern['detail-type'])).toEqual(
      new Set([
        'return_order.status.changed',
        'return_order_parcel.status.changed',
        'sales_order.status.changed',
        'sales_order_parcel.status.changed',
        'payment_operation.status.changed',
      ]),
    );
    expect(resourceProps(ids.rule).EventBusName).toEqual(ref(ids.bus));
  });

  it('targets the fan-out function with bounded retries and the fan-out DLQ', () => {
    expect(resourceProps(ids.rule).Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: getAtt(ids.fanOutFn),
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: getAtt(ids.fanOutDlq) },
      },
    ]);
    // EventBridge must be allowed to park events there, and only from this rule.
    s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(ids.fanOutDlq)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ids.rule) } },
          }),
        ]),
      },
    });
  });

  it('hands fan-out every other event on its bus, through exactly one rule, except the stack\'s own operational events', () => {
    const rules = Object.entries(s.template.findResources('AWS::Events::Rule')).map(([id, r]) => ({ id, props: r.Properties }));
    const toFanOut = rules.filter((r) => JSON.stringify(r.props.Targets.map((t: { Arn: unknown }) => t.Arn)) === JSON.stringify([getAtt(ids.fanOutFn)]));
    const matchers = toFanOut.map((r) => ({ id: r.id, matches: compilePattern(r.props.EventPattern, r.id) }));
    const rulesFor = (source: string, detailType: string) =>
      matchers.filter((m) => m.matches({ version: '0', id: 'e', source, 'detail-type': detailType, account: '1', time: 't', region: 'r', resources: [], detail: {} })).map((m) => m.id);
    const [source] = DEFAULTS.sources;
    for (const event of EVENT_NAMES) expect(rulesFor(source!, event)).toEqual([ids.rule]);
    // A producer's typo, in the detail type or the source, or both: fan-out gets it and parks it.
    for (const [src, type] of [[source!, 'return_order.status_changed'], [source!, 'Return_Order.Status.Changed'], ['return.cloud', 'return_order.status.changed'], ['someone.else', 'order.created'], ['', 'x'], ['statushooks', 'return_order.status.changed'], ['statushooks', 'statushooks.something.new']]) {
      const found = rulesFor(src!, type!);
      expect(found).toHaveLength(1);
      expect(found[0]).not.toBe(ids.rule);
    }
    // The operational events on the same bus go to the alarm topic only (when one is set).
    for (const type of ['statushooks.endpoint.failing', 'statushooks.endpoint.recovered', 'statushooks.subscription.disabled']) expect(rulesFor('statushooks', type)).toEqual([]);
    for (const r of toFanOut) {
      expect(r.props.EventBusName).toEqual(ref(ids.bus));
      expect(r.props.Targets[0]).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 }, DeadLetterConfig: { Arn: getAtt(ids.fanOutDlq) } });
      // EventBridge may invoke fan-out and park in its DLQ from each of them.
      s.template.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: getAtt(ids.fanOutFn), Principal: 'events.amazonaws.com', SourceArn: getAtt(r.id) });
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(ids.fanOutDlq)],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Condition: { ArnEquals: { 'aws:SourceArn': getAtt(r.id) } } })]) },
      });
    }
    // Fan-out knows the accepted sources, so it can say what is wrong with another.
    expect(resourceProps(ids.fanOutFn).Environment.Variables.EVENT_SOURCES).toBe(DEFAULTS.sources.join(','));
  });

  it('archives the same events as the rule for the default retention', () => {
    s.template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: getAtt(ids.bus),
      EventPattern: resourceProps(ids.rule).EventPattern,
      RetentionDays: DEFAULTS.archiveRetentionDays,
    });
  });
});

describe('queues', () => {
  it('parks a delivery job in the delivery DLQ after max(5, maxAttempts) receives', () => {
    expect(resourceProps(ids.deliveryQueue).RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(ids.deliveryDlq),
      maxReceiveCount: Math.max(5, DEFAULTS.maxAttempts),
    });
  });

  it('keeps a job invisible at least 6x the delivery function timeout', () => {
    const timeout = resourceProps(ids.deliveryFn).Timeout as number;
    expect(timeout).toBe(DEFAULTS.deliveryFunctionTimeoutSeconds);
    expect(resourceProps(ids.deliveryQueue).VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('keeps jobs 4 days and parked messages 14 days, and keeps the DLQs when the stack is deleted', () => {
    // A DLQ keeps messages longer than its source: SQS-redriven messages keep their enqueue time.
    expect(resourceProps(ids.deliveryQueue).MessageRetentionPeriod).toBe(4 * 86_400);
    for (const id of [ids.deliveryDlq, ids.fanOutDlq]) {
      expect(resourceProps(id).MessageRetentionPeriod).toBe(1_209_600);
    }
    const resources = s.template.toJSON().Resources as Record<string, { DeletionPolicy?: string }>;
    expect(resources[ids.deliveryDlq]!.DeletionPolicy).toBe('Retain');
    expect(resources[ids.fanOutDlq]!.DeletionPolicy).toBe('Retain');
  });

  it('encrypts every queue and refuses non-TLS access', () => {
    for (const id of [ids.deliveryQueue, ids.deliveryDlq, ids.fanOutDlq]) {
      expect(resourceProps(id).SqsManagedSseEnabled).toBe(true);
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('delivery event source mapping', () => {
  it('reports partial batch failures with the configured batch size and concurrency', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(ids.deliveryQueue),
      FunctionName: ref(ids.deliveryFn),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: DEFAULTS.deliveryBatchSize,
      ScalingConfig: { MaximumConcurrency: DEFAULTS.deliveryMaxConcurrency },
      // A webhook leaves as soon as its job is queued.
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });
});

describe('subscriptions table (operator contract)', () => {
  it('has the documented keys, on-demand billing, PITR and encryption', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'tenantId', KeyType: 'HASH' },
        { AttributeName: 'subscriptionId', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'tenantId', AttributeType: 'S' },
        { AttributeName: 'subscriptionId', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('survives stack deletion and replacement', () => {
    const table = s.template.toJSON().Resources[ids.table];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('cannot be deleted by a DeleteTable (console, CLI) either: the tables kept after the stack have deletion protection, the one the stack deletes has not', () => {
    const resources = s.template.toJSON().Resources;
    for (const id of [ids.table, ids.deliveryLog]) {
      expect(resources[id].DeletionPolicy).toBe('Retain');
      expect(resources[id].Properties.DeletionProtectionEnabled).toBe(true);
    }
    // Endpoint health is derived state the stack deletes: protection there would fail `cdk destroy`.
    expect(resources[ids.healthTable].DeletionPolicy).toBe('Delete');
    expect(resources[ids.healthTable].Properties.DeletionProtectionEnabled).not.toBe(true);
  });
});

describe('functions', () => {
  it.each([
    ['fan-out', () => ids.fanOutFn, INFRA_DEFAULTS.fanOutFunctionTimeoutSeconds],
    ['delivery', () => ids.deliveryFn, DEFAULTS.deliveryFunctionTimeoutSeconds],
  ])('%s runs Node.js 24 on arm64 with pass-through tracing, JSON logs in its own log group, and its timeout', (_name, id, timeout) => {
    const fn = resourceProps(id());
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.TracingConfig).toEqual({ Mode: 'PassThrough' });
    expect(fn.Timeout).toBe(timeout);
    expect(fn.Handler).toBe('index.handler');
    const logGroupId = (fn.LoggingConfig.LogGroup as { Ref: string }).Ref;
    expect(resourceProps(logGroupId).RetentionInDays).toBe(30);
    expect(fn.Environment.Variables).toMatchObject({
      // The stack's name: each stage's metrics apart (test/infra/context.test.ts has another name).
      POWERTOOLS_METRICS_NAMESPACE: DEFAULTS.stackName,
      POWERTOOLS_SERVICE_NAME: expect.stringMatching(/^statushooks-/),
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.userAgentVersion]: packageVersion,
    });
  });

  it('is tested on the Node.js major it runs on: `npm run test:lambda-node` (in CI) uses the runtime\'s major, and the bundles target it', () => {
    const { config } = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { config: { lambdaNode: string } };
    const major = config.lambdaNode.split('.')[0];
    expect(resourceProps(ids.fanOutFn).Runtime).toBe(`nodejs${major}.x`);
    expect(FUNCTION_BUNDLE.target).toBe(`node${major}`);
  });

  it('gives the fan-out function its resources and cache TTL', () => {
    expect(resourceProps(ids.fanOutFn).Environment.Variables).toMatchObject({
      [ENV.subscriptionsTable]: ref(ids.table),
      [ENV.deliveryQueueUrl]: ref(ids.deliveryQueue),
      [ENV.fanOutDlqUrl]: ref(ids.fanOutDlq),
      [ENV.subscriptionCacheTtlMs]: String(DEFAULTS.subscriptionCacheTtlMs),
    });
  });

  it('gives the delivery function its resources and the deployed (strict) policy', () => {
    expect(resourceProps(ids.deliveryFn).Environment.Variables).toMatchObject({
      [ENV.subscriptionsTable]: ref(ids.table),
      [ENV.deliveryQueueUrl]: ref(ids.deliveryQueue),
      [ENV.deliveryDlqUrl]: ref(ids.deliveryDlq),
      [ENV.maxAttempts]: String(DEFAULTS.maxAttempts),
      [ENV.retrySchedule]: '60,600,3600,21600',
      [ENV.httpTimeoutMs]: String(DEFAULTS.httpTimeoutMs),
      [ENV.httpConnectTimeoutMs]: String(DEFAULTS.httpConnectTimeoutMs),
      UV_THREADPOOL_SIZE: '64',
      [ENV.allowPrivateEndpoints]: 'false',
      [ENV.allowHttpEndpoints]: 'false',
      [ENV.subscriptionCacheTtlMs]: String(DEFAULTS.subscriptionCacheTtlMs),
    });
  });

  it('sends fan-out invocations that keep failing to the fan-out DLQ', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(ids.fanOutFn),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: getAtt(ids.fanOutDlq) } },
    });
  });
});

describe('endpoint isolation (stack defaults)', () => {
  it('gives the retry lane its own encrypted queue, redriven to the delivery DLQ only as a crash net, kept 14 days', () => {
    const q = resourceProps(ids.retryQueue);
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: getAtt(ids.deliveryDlq), maxReceiveCount: 1000 });
    expect(q.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(q.KmsMasterKeyId ?? q.SqsManagedSseEnabled).toBeTruthy();
    // The retry lane's own function drains it, with its own concurrency and partial batch responses.
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: ids.retryFn },
      EventSourceArn: getAtt(ids.retryQueue),
      ScalingConfig: { MaximumConcurrency: DEFAULTS.retryMaxConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('keeps endpoint health in an on-demand, encrypted table with point-in-time recovery and TTL', () => {
    const t = resourceProps(ids.healthTable);
    expect(t.BillingMode).toBe('PAY_PER_REQUEST');
    expect(t.SSESpecification).toEqual({ SSEEnabled: true });
    expect(t.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(t.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.HealthTableName?.Value).toEqual({ Ref: ids.healthTable });
    expect(outputs.RetryQueueUrl?.Value).toEqual({ Ref: ids.retryQueue });
  });

  it('without alarmTopicArn: no rule forwards operational events and alarms notify nobody', () => {
    const rules = Object.entries(s.template.findResources('AWS::Events::Rule')).map(([id, r]) => ({ id, matches: compilePattern(r.Properties.EventPattern, id) }));
    const operational = { version: '0', id: 'e', source: 'statushooks', 'detail-type': 'statushooks.endpoint.failing', account: '1', time: 't', region: 'r', resources: [], detail: {} };
    expect(rules.filter((r) => r.matches(operational)).map((r) => r.id)).toEqual([]);
    // Nor is there a dead-letter queue for those events, or its output.
    expect(Object.keys(s.template.toJSON().Outputs)).not.toContain('OperationalEventsDlqUrl');
    for (const alarm of Object.values(s.template.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });
});

describe('IAM', () => {
  const dynamoStatements = (roleId: string) =>
    statementsOf(s.template, roleId).filter((st) => actionsOf(st).some((a) => a.startsWith('dynamodb:')));

  it.each([
    ['fast lane', () => s.stack.delivery.function],
    ['retry lane', () => s.stack.delivery.retryFunction],
  ])('lets the %s only get and update subscriptions, get, update and put endpoint health, and update delivery-log records', (_lane, fn) => {
    const statements = dynamoStatements(roleIdOf(s, fn()));
    const byTable = (id: string) => statements.filter((st) => JSON.stringify([st.Resource].flat()) === JSON.stringify([getAtt(id)])).flatMap(actionsOf);
    expect(new Set(byTable(ids.table))).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
    expect(new Set(byTable(ids.healthTable))).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem']));
    expect(byTable(ids.deliveryLog)).toEqual(['dynamodb:UpdateItem']);
    // Nothing else, on nothing else (not the log's indexes either).
    expect(statements.flatMap(actionsOf).length).toBe(byTable(ids.table).length + byTable(ids.healthTable).length + 1);
    for (const forbidden of ['dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:*']) {
      expect(statements.flatMap(actionsOf)).not.toContain(forbidden);
    }
  });

  it('lets the fan-out function query subscriptions and write delivery-log records (looked up and put batched; an existing one updated), nothing more', () => {
    const statements = dynamoStatements(roleIdOf(s, s.stack.fanOut.function));
    const on = (id: string) => statements.filter((st) => JSON.stringify([st.Resource].flat()) === JSON.stringify([getAtt(id)])).flatMap(actionsOf);
    expect(on(ids.table)).toEqual(['dynamodb:Query']);
    expect(new Set(on(ids.deliveryLog))).toEqual(new Set(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']));
    const actions = statements.flatMap(actionsOf);
    expect(actions).toHaveLength(4);
    for (const forbidden of ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:*']) {
      expect(actions).not.toContain(forbidden);
    }
  });

  it('lets the fan-out function read only the replays statushooks starts (their filter)', () => {
    const statements = statementsOf(s.template, roleIdOf(s, s.stack.fanOut.function)).filter((st) => actionsOf(st).some((a) => a.startsWith('events:')));
    expect(statements.flatMap(actionsOf)).toEqual(['events:DescribeReplay']);
    expect(JSON.stringify(statements[0]!.Resource)).toContain(':replay/statushooks-*');
  });

  it('outputs the archive and the fan-out rule, for replays', () => {
    const outputs = s.template.toJSON().Outputs;
    expect(outputs.ArchiveArn.Value).toEqual(getAtt(s.idOf(s.stack.eventBus.archive)));
    expect(outputs.FanOutRuleArn.Value).toEqual(getAtt(s.idOf(s.stack.eventBus.rule)));
  });

  it('keeps a delivery log: on demand, encrypted, point-in-time recovery, TTL, retained, three newest-first indexes', () => {
    const table = s.template.toJSON().Resources[ids.deliveryLog];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'tenantId', KeyType: 'HASH' }, { AttributeName: 'deliveryId', KeyType: 'RANGE' }],
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    const indexes = Object.fromEntries((table.Properties.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: unknown; Projection: unknown }>).map((i) => [i.IndexName, i]));
    expect(Object.keys(indexes).sort()).toEqual(['byEntity', 'byState', 'byTenant']);
    for (const [name, partition] of [['byTenant', 'tenantId'], ['byEntity', 'entityKey'], ['byState', 'stateKey']] as const) {
      expect(indexes[name]!.KeySchema).toEqual([{ AttributeName: partition, KeyType: 'HASH' }, { AttributeName: 'listKey', KeyType: 'RANGE' }]);
      // Only attributes that never change: updates do not rewrite the index items.
      expect(indexes[name]!.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: ['subscriptionId', 'entityUuid'] });
    }
  });

  it('grants each function the queue operations its handler performs, on those queues only', () => {
    const sqsGrants = (roleId: string) =>
      statementsOf(s.template, roleId)
        .filter((st) => actionsOf(st).some((a) => a.startsWith('sqs:')))
        .flatMap((st) => actionsOf(st).map((a) => `${a} ${JSON.stringify(st.Resource)}`));
    const on = (id: string) => JSON.stringify(getAtt(id));

    const delivery = sqsGrants(roleIdOf(s, s.stack.delivery.function));
    expect(delivery).toEqual(
      expect.arrayContaining([
        `sqs:ReceiveMessage ${on(ids.deliveryQueue)}`,
        `sqs:DeleteMessage ${on(ids.deliveryQueue)}`,
        `sqs:ChangeMessageVisibility ${on(ids.deliveryQueue)}`,
        `sqs:SendMessage ${on(ids.deliveryDlq)}`,
      ]),
    );
    // A failed attempt continues on the retry lane; the last one is parked: nothing else is sent.
    expect(delivery.filter((g) => g.startsWith('sqs:SendMessage ')).sort()).toEqual([`sqs:SendMessage ${on(ids.retryQueue)}`, `sqs:SendMessage ${on(ids.deliveryDlq)}`].sort());
    expect(delivery.some((g) => g.startsWith('sqs:ReceiveMessage') && g.includes(ids.retryQueue))).toBe(false);

    const retry = sqsGrants(roleIdOf(s, s.stack.delivery.retryFunction));
    expect(retry).toEqual(
      expect.arrayContaining([
        `sqs:ReceiveMessage ${on(ids.retryQueue)}`,
        `sqs:DeleteMessage ${on(ids.retryQueue)}`,
        `sqs:ChangeMessageVisibility ${on(ids.retryQueue)}`,
      ]),
    );
    expect(retry.filter((g) => g.startsWith('sqs:SendMessage ')).sort()).toEqual([`sqs:SendMessage ${on(ids.retryQueue)}`, `sqs:SendMessage ${on(ids.deliveryDlq)}`].sort());
    // The retry lane never touches the fast lane's queue.
    expect(retry.some((g) => g.includes(ids.deliveryQueue))).toBe(false);

    const fanOut = sqsGrants(roleIdOf(s, s.stack.fanOut.function));
    expect(fanOut.filter((g) => g.startsWith('sqs:SendMessage ')).sort()).toEqual(
      [`sqs:SendMessage ${on(ids.deliveryQueue)}`, `sqs:SendMessage ${on(ids.fanOutDlq)}`].sort(),
    );
    expect(fanOut.some((g) => g.startsWith('sqs:ReceiveMessage') || g.startsWith('sqs:DeleteMessage'))).toBe(false);
  });

  it("uses Resource '*' only for X-Ray, which supports nothing else", () => {
    const policies = Object.values(s.template.findResources('AWS::IAM::Policy'));
    const starStatements = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((st) => [st.Resource].flat().includes('*'));
    expect(starStatements.length).toBeGreaterThan(0);
    for (const st of starStatements) {
      expect([st.Action].flat().every((a) => a.startsWith('xray:'))).toBe(true);
    }
  });

  it('gives function roles no managed policies (logs go to their own log group only)', () => {
    for (const fn of [s.stack.fanOut.function, s.stack.delivery.function]) {
      const role = s.template.toJSON().Resources[roleIdOf(s, fn)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const logsStatements = statementsOf(s.template, roleIdOf(s, fn)).filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')));
      const logGroupId = (resourceProps(s.idOf(fn)).LoggingConfig.LogGroup as { Ref: string }).Ref;
      expect(logsStatements.map((st) => st.Resource)).toEqual([getAtt(logGroupId)]);
    }
  });
});

describe('monitoring', () => {
  it.each([
    ['delivery DLQ', () => ids.deliveryDlq],
    ['fan-out DLQ', () => ids.fanOutDlq],
  ])('alarms as soon as one message is visible in the %s', (_name, id) => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(id(), 'QueueName') }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('alarms when the fan-out function is throttled (events then wait up to 6 h in Lambda, with no error and no job queued)', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: ref(ids.fanOutFn) }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when the oldest delivery job is older than an hour', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(ids.deliveryQueue, 'QueueName') }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 3600,
    });
  });

  it("alarms on a failed delivery-log write in any function, a subscription item fan-out skipped, and an operational event nobody got, by the metrics the functions' code writes", async () => {
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    type Stat = { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number; Stat: string };
    type Query = { Id: string; Expression?: string; MetricStat?: Stat };
    /** The metrics a sum-of-functions alarm on `name` reads; the expression adds them all, each read as 0 when it wrote nothing. */
    const summed = (name: MetricName) => {
      const alarm = alarms.find((a) => ((a.Metrics ?? []) as Query[]).some((m) => m.MetricStat?.Metric.MetricName === name));
      expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
      const queries = alarm.Metrics as Query[];
      const expression = queries.filter((q) => q.Expression !== undefined);
      expect(expression).toHaveLength(1);
      const stats = queries.filter((q) => q.MetricStat !== undefined);
      for (const q of stats) {
        expect(expression[0]!.Expression).toContain(`FILL(${q.Id}, 0)`);
        expect(q.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum' });
      }
      return stats.map((q) => q.MetricStat!.Metric);
    };
    const skipAlarm = alarms.find((a) => a.MetricName === 'InvalidSubscriptions');
    expect(skipAlarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, Statistic: 'Sum', Period: 300, TreatMissingData: 'notBreaching' });
    // What each function's code writes, with the environment the template gives it, is what its alarm reads.
    const emitted = (fnId: string, name: MetricName) => {
      const env = resourceProps(fnId).Environment.Variables as Record<string, string>;
      const saved = process.env.POWERTOOLS_METRICS_NAMESPACE;
      const lines: string[] = [];
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
      try {
        process.env.POWERTOOLS_METRICS_NAMESPACE = env.POWERTOOLS_METRICS_NAMESPACE;
        const o = observability(env.POWERTOOLS_SERVICE_NAME!);
        o.metrics.count(name);
        o.publish();
      } finally {
        spy.mockRestore();
        if (saved === undefined) delete process.env.POWERTOOLS_METRICS_NAMESPACE;
        else process.env.POWERTOOLS_METRICS_NAMESPACE = saved;
      }
      const emf = JSON.parse(lines.join('').trim()) as Record<string, string> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } };
      const [directive] = emf._aws.CloudWatchMetrics;
      return { Namespace: directive!.Namespace, MetricName: name, Dimensions: directive!.Dimensions[0]!.map((d) => ({ Name: d, Value: emf[d]! })) };
    };
    const sorted = <T>(xs: T[]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(sorted(summed(METRIC.deliveryLogWriteFailures))).toEqual(sorted([ids.fanOutFn, ids.deliveryFn, ids.retryFn].map((id) => emitted(id, METRIC.deliveryLogWriteFailures))));
    // Only the delivery functions publish operational events.
    expect(sorted(summed(METRIC.operationalEventFailures))).toEqual(sorted([ids.deliveryFn, ids.retryFn].map((id) => emitted(id, METRIC.operationalEventFailures))));
    expect({ Namespace: skipAlarm.Namespace, MetricName: skipAlarm.MetricName, Dimensions: skipAlarm.Dimensions }).toEqual(emitted(ids.fanOutFn, METRIC.invalidSubscriptions));
    expect(skipAlarm.Namespace).toBe(s.stack.stackName);
  });

  it('has no alarm actions unless a topic is configured', () => {
    for (const alarm of Object.values(s.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });
});

describe('outputs (consumed by producers, the CLI and the local runtime)', () => {
  it('exports the six documented keys, each pointing at its resource', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.EventBusName?.Value).toEqual(ref(ids.bus));
    expect(outputs.EventBusArn?.Value).toEqual(getAtt(ids.bus));
    expect(outputs.SubscriptionsTableName?.Value).toEqual(ref(ids.table));
    expect(outputs.DeliveryQueueUrl?.Value).toEqual(ref(ids.deliveryQueue));
    expect(outputs.DeliveryDlqUrl?.Value).toEqual(ref(ids.deliveryDlq));
    expect(outputs.FanOutDlqUrl?.Value).toEqual(ref(ids.fanOutDlq));
  });

  it('exports the deployed endpoint policy (strict by default), which the CLI reads for --stack', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AllowPrivateEndpoints?.Value).toBe('false');
    expect(outputs.AllowHttpEndpoints?.Value).toBe('false');
  });

  it('is named StatusHooks by default', () => {
    expect(s.stack.stackName).toBe(DEFAULTS.stackName);
  });
});
