import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct, type IConstruct } from 'constructs';
import { EVENT_NAMES } from '../../lambdas/core/catalog';
import { DEFAULTS, ENV } from '../../lambdas/core/config';
import { OPERATIONAL_SOURCE } from '../../lambdas/core/operational';
import { propsFromContext } from '../../lib/app';
import { getAtt, synth, type Synthesized } from './synth';

/** Context as the CLI would set it, on a bare construct tree (an App would create a temp dir). */
const propsOf = (context: Record<string, unknown>) => {
  const root = new Construct(undefined as never, '');
  for (const [key, value] of Object.entries(context)) root.node.setContext(key, value);
  return propsFromContext(root.node);
};


/** The rule that sends the stack's operational events on (its source, and their detail types listed). */
function isOperationalRule(rule: { EventPattern?: { source?: unknown; 'detail-type'?: unknown } }): boolean {
  const types = rule.EventPattern?.['detail-type'];
  return JSON.stringify(rule.EventPattern?.source) === JSON.stringify([OPERATIONAL_SOURCE]) && Array.isArray(types) && types.every((t) => typeof t === 'string');
}

describe('propsFromContext', () => {
  it('leaves everything to the stack defaults when no context is given', () => {
    expect(propsOf({})).toEqual({ stackName: DEFAULTS.stackName });
  });

  it('reads command-line strings and typed values to the same props', () => {
    const typed = propsOf({
      stackName: 'StatusHooksDev',
      sources: ['returns.cloud', 'orders.cloud'],
      busName: 'dev-bus',
      maxAttempts: 3,
      retrySchedule: [1, 2, 3],
      httpTimeoutMs: 5000,
      httpConnectTimeoutMs: 1000,
      deliveryBatchSize: 5,
      deliveryMaxConcurrency: 20,
      allowPrivateEndpoints: true,
      allowHttpEndpoints: false,
      archiveRetentionDays: 7,
      subscriptionCacheTtlMs: 0,
      deliveryQueueAgeAlarmSeconds: 600,
    });
    const strings = propsOf({
      stackName: 'StatusHooksDev',
      sources: 'returns.cloud, orders.cloud',
      busName: 'dev-bus',
      maxAttempts: '3',
      retrySchedule: '1,2,3',
      httpTimeoutMs: '5000',
      httpConnectTimeoutMs: '1000',
      deliveryBatchSize: '5',
      deliveryMaxConcurrency: '20',
      allowPrivateEndpoints: 'true',
      allowHttpEndpoints: 'FALSE',
      archiveRetentionDays: '7',
      subscriptionCacheTtlMs: '0',
      deliveryQueueAgeAlarmSeconds: '600',
    });
    expect(strings).toEqual(typed);
    expect(typed).toEqual({
      stackName: 'StatusHooksDev',
      sources: ['returns.cloud', 'orders.cloud'],
      eventBusName: 'dev-bus',
      maxAttempts: 3,
      retrySchedule: [1, 2, 3],
      httpTimeoutMs: 5000,
      httpConnectTimeoutMs: 1000,
      deliveryBatchSize: 5,
      deliveryMaxConcurrency: 20,
      allowPrivateEndpoints: true,
      allowHttpEndpoints: false,
      archiveRetentionDays: 7,
      subscriptionCacheTtlMs: 0,
      deliveryQueueAgeAlarmSeconds: 600,
    });
  });

  it('rejects values that are not even the right kind, all in one error', () => {
    let error: Error | undefined;
    try {
      propsOf({ maxAttempts: 'five', allowPrivateEndpoints: 'yes', retrySchedule: '60,-5', sources: 42 });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/4 problems/);
    expect(error?.message).toContain('maxAttempts must be a number, got "five"');
    expect(error?.message).toContain('allowPrivateEndpoints must be true or false, got "yes"');
    expect(error?.message).toContain('retrySchedule');
    expect(error?.message).toContain('"60,-5"');
    expect(error?.message).toContain('sources must be a comma-separated list');
  });
});

describe('the local runtime configuration', () => {
  // Exactly what the local runtime passes to createApp.
  let s: Synthesized;
  beforeAll(() => {
    s = synth({ retrySchedule: '1,1,1,1', maxAttempts: 3, allowPrivateEndpoints: true, allowHttpEndpoints: true });
  });
  afterAll(() => s?.cleanup());

  it('makes 3 attempts, but the fast lane redrives a job only after 5 receives (AWS\'s least for a queue that feeds Lambda)', () => {
    expect(s.template.toJSON().Resources[s.idOf(s.stack.delivery.queue)].Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(s.idOf(s.stack.delivery.deadLetterQueue)),
      maxReceiveCount: 5,
    });
  });

  it('hands the fast schedule and the permissive endpoint policy to the delivery function', () => {
    const fn = s.template.toJSON().Resources[s.idOf(s.stack.delivery.function)].Properties;
    expect(fn.Environment.Variables).toMatchObject({
      [ENV.maxAttempts]: '3',
      [ENV.retrySchedule]: '1,1,1,1',
      [ENV.allowPrivateEndpoints]: 'true',
      [ENV.allowHttpEndpoints]: 'true',
    });
  });

  it('tells the CLI through the outputs that this stack accepts private and http endpoints', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AllowPrivateEndpoints?.Value).toBe('true');
    expect(outputs.AllowHttpEndpoints?.Value).toBe('true');
  });

  it('points each function at its esbuild bundle in the cloud assembly', () => {
    for (const fn of [s.stack.fanOut.function, s.stack.delivery.function]) {
      const resource = s.template.toJSON().Resources[s.idOf(fn)];
      const assetPath = resource.Metadata['aws:asset:path'] as string;
      expect(resource.Properties.Handler).toBe('index.handler');
      expect(fs.existsSync(path.join(s.outdir, assetPath, 'index.js'))).toBe(true);
      expect(fs.existsSync(path.join(s.outdir, assetPath, 'index.js.map'))).toBe(true);
    }
  });
});

describe('a stage configured from the command line (string context)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth(
      {
        stackName: 'StatusHooksStaging',
        sources: 'returns.cloud,returns.staging',
        busName: 'statushooks-staging',
        maxAttempts: '7',
        deliveryBatchSize: '4',
        deliveryMaxConcurrency: '25',
        archiveRetentionDays: '3',
        httpTimeoutMs: '8000',
        allowHttpEndpoints: 'true',
        retryMaxConcurrency: '4',
        fastLaneTimeoutMs: '2000',
        breakerThreshold: '3',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:statushooks-ops',
      },
      { bundles: false },
    );
  });
  afterAll(() => s?.cleanup());

  it('sends the operational events of its own bus, and every alarm, to the alarm topic', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:statushooks-ops';
    const rules = Object.values(s.template.findResources('AWS::Events::Rule')).map((r) => r.Properties);
    const operational = rules.filter((r) => isOperationalRule(r));
    expect(operational).toHaveLength(1);
    expect(operational[0].EventBusName).toEqual({ Ref: s.idOf(s.stack.eventBus.bus) });
    expect(new Set(operational[0].EventPattern['detail-type'])).toEqual(new Set(['statushooks.endpoint.failing', 'statushooks.endpoint.recovered', 'statushooks.subscription.disabled']));
    expect(operational[0].Targets.map((t: { Arn: unknown }) => t.Arn)).toEqual([topic]);
    // A notification SNS refuses is kept (with the error) in an encrypted queue, not dropped.
    const dlqArn = operational[0].Targets[0].DeadLetterConfig?.Arn as { 'Fn::GetAtt': [string, string] };
    expect(dlqArn?.['Fn::GetAtt']?.[1]).toBe('Arn');
    expect(s.template.toJSON().Resources[dlqArn['Fn::GetAtt'][0]].Properties.SqsManagedSseEnabled).toBe(true);
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic]);
  });

  /** Logical id of the queue where the operational-events rule target keeps what SNS refused. */
  const operationalDlqId = (): string => {
    const rules = Object.values(s.template.findResources('AWS::Events::Rule')).map((r) => r.Properties);
    const operational = rules.find((r) => isOperationalRule(r));
    return (operational?.Targets[0].DeadLetterConfig?.Arn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  };

  it('alarms on the first message in the operational-events DLQ, notifying the topic', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:statushooks-ops';
    const dlqId = operationalDlqId();
    const alarms = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: getAtt(dlqId, 'QueueName') }]),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it("refuses, before creating anything, a deploy to another region than the alarm topic's (alarms and rules cannot notify across regions)", () => {
    const rules = (s.template.toJSON().Rules ?? {}) as Record<string, { Assertions: Array<{ Assert: unknown; AssertDescription: string }> }>;
    const assertions = Object.values(rules).flatMap((r) => r.Assertions);
    const region = assertions.filter((a) => JSON.stringify(a.Assert) === JSON.stringify({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }));
    expect(region).toHaveLength(1);
    expect(region[0]!.AssertDescription).toContain('alarmTopicArn arn:aws:sns:eu-west-1:123456789012:statushooks-ops is in eu-west-1');
  });

  it('outputs the URL of the operational-events DLQ, named like the other DLQ outputs', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.OperationalEventsDlqUrl?.Value).toEqual({ Ref: operationalDlqId() });
  });

  it('flows the isolation settings into both lanes', () => {
    const env = (fn: IConstruct) => s.template.toJSON().Resources[s.idOf(fn)].Properties.Environment.Variables as Record<string, string>;
    const fast = env(s.stack.delivery.function);
    const retry = env(s.stack.delivery.retryFunction);
    expect([fast[ENV.deliveryLane], retry[ENV.deliveryLane]]).toEqual(['fast', 'retry']);
    expect([fast.FAST_LANE_TIMEOUT_MS, fast.BREAKER_THRESHOLD, retry.BREAKER_THRESHOLD, retry[ENV.httpTimeoutMs]]).toEqual(['2000', '3', '3', '8000']);
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: s.idOf(s.stack.delivery.retryFunction) },
      EventSourceArn: getAtt(s.idOf(s.stack.delivery.retryQueue)),
      ScalingConfig: { MaximumConcurrency: 4 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('names the stack and the bus', () => {
    expect(s.stack.stackName).toBe('StatusHooksStaging');
    s.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'statushooks-staging' });
  });

  it("writes its functions' metrics under its own name, and alarms on those only: a second stage in the account never adds to them", () => {
    for (const fn of [s.stack.fanOut.function, s.stack.delivery.function, s.stack.delivery.retryFunction]) {
      expect(s.template.toJSON().Resources[s.idOf(fn)].Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('StatusHooksStaging');
    }
    const namespaces = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).flatMap((a) => [
      a.Properties.Namespace as string | undefined,
      ...((a.Properties.Metrics ?? []) as { MetricStat?: { Metric: { Namespace: string } } }[]).map((m) => m.MetricStat?.Metric.Namespace),
    ]);
    const own = namespaces.filter((n): n is string => n !== undefined && !n.startsWith('AWS/'));
    expect(own.length).toBeGreaterThanOrEqual(4);
    expect(new Set(own)).toEqual(new Set(['StatusHooksStaging']));
  });

  it('accepts every configured source, still only the five event names', () => {
    const rule = s.template.toJSON().Resources[s.idOf(s.stack.eventBus.rule)].Properties;
    expect(rule.EventPattern).toEqual({ source: ['returns.cloud', 'returns.staging'], 'detail-type': [...EVENT_NAMES] });
    s.template.hasResourceProperties('AWS::Events::Archive', { EventPattern: rule.EventPattern, RetentionDays: 3 });
  });

  it('parks events of any other source and unknown detail types of the configured ones, and tells fan-out and the CLI its sources', () => {
    const rules = s.stack.eventBus.unroutedRules.map((r) => s.template.toJSON().Resources[s.idOf(r)].Properties.EventPattern);
    expect(rules).toEqual([
      { source: [{ 'anything-but': ['returns.cloud', 'returns.staging', 'statushooks'] }] },
      { source: ['returns.cloud', 'returns.staging'], 'detail-type': [{ 'anything-but': [...EVENT_NAMES] }] },
      { source: ['statushooks'], 'detail-type': [{ 'anything-but': ['statushooks.endpoint.failing', 'statushooks.endpoint.recovered', 'statushooks.subscription.disabled'] }] },
    ]);
    expect(s.template.toJSON().Resources[s.idOf(s.stack.fanOut.function)].Properties.Environment.Variables.EVENT_SOURCES).toBe('returns.cloud,returns.staging');
    expect((s.template.toJSON().Outputs as Record<string, { Value: unknown }>).EventSources?.Value).toBe('returns.cloud,returns.staging');
  });

  it('flows maxAttempts into the redrive policy and the function', () => {
    s.template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 7 } });
    const fn = s.template.toJSON().Resources[s.idOf(s.stack.delivery.function)].Properties;
    expect(fn.Environment.Variables[ENV.maxAttempts]).toBe('7');
    expect(fn.Environment.Variables[ENV.httpTimeoutMs]).toBe('8000');
  });

  it('reports the endpoint policy it was deployed with in its outputs (strict unless configured)', () => {
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AllowPrivateEndpoints?.Value).toBe('false');
    expect(outputs.AllowHttpEndpoints?.Value).toBe('true');
  });

  it('flows batch size and concurrency into the event source mapping', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 4,
      ScalingConfig: { MaximumConcurrency: 25 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe("the fast lane's redrive", () => {
  const synthesized: Synthesized[] = [];
  afterAll(() => synthesized.forEach((s) => s.cleanup()));
  const fastLaneRedrive = (maxAttempts: number) => {
    const s = synth({ maxAttempts }, { bundles: false });
    synthesized.push(s);
    return s.template.toJSON().Resources[s.idOf(s.stack.delivery.queue)].Properties.RedrivePolicy;
  };

  it.each([
    [1, 5],
    [4, 5],
    [5, 5],
    [8, 8],
  ])('maxAttempts %i: maxReceiveCount %i (at least 5, as AWS advises for a queue that feeds Lambda; at least maxAttempts)', (maxAttempts, expected) => {
    expect(fastLaneRedrive(maxAttempts).maxReceiveCount).toBe(expected);
  });
});

describe('tracing and logs are chosen per stage', () => {
  const functions = (s: Synthesized) => Object.values(s.template.findResources('AWS::Lambda::Function')).filter((f) => f.Properties.Handler === 'index.handler');
  const xrayStatements = (s: Synthesized) =>
    Object.values(s.template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).filter((st) => [st.Action].flat().some((a) => a.startsWith('xray:'))),
    );
  // Template-only synths, their folders removed after the block.
  const synthesized: Synthesized[] = [];
  const templateOf = (context: Record<string, unknown>) => {
    const s = synth(context, { bundles: false });
    synthesized.push(s);
    return s;
  };
  afterAll(() => synthesized.forEach((s) => s.cleanup()));

  it('by default: pass-through tracing, JSON logs at INFO, platform lines at WARN only', () => {
    const s = templateOf({});
    expect(functions(s)).toHaveLength(3);
    for (const fn of functions(s)) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'PassThrough' });
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' });
      expect(fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe('INFO');
    }
  });

  it('tracing=off drops tracing and the X-Ray permissions; active turns on Lambda active tracing (sampled) with them', () => {
    const off = templateOf({ tracing: 'off', logLevel: 'DEBUG', systemLogLevel: 'INFO' });
    for (const fn of functions(off)) {
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(fn.Properties.LoggingConfig).toMatchObject({ ApplicationLogLevel: 'DEBUG', SystemLogLevel: 'INFO' });
    }
    expect(xrayStatements(off)).toEqual([]);
    const active = templateOf({ tracing: 'active' });
    for (const fn of functions(active)) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    expect(xrayStatements(active)).toHaveLength(3);
  });

  it('deliveryLog reaches both functions and the outputs (all by default); an unknown mode is refused', () => {
    const byDefault = templateOf({});
    for (const fn of functions(byDefault)) expect(fn.Properties.Environment.Variables.DELIVERY_LOG).toBe('all');
    expect((byDefault.template.toJSON().Outputs as Record<string, { Value: unknown }>).DeliveryLogMode?.Value).toBe('all');
    const failures = templateOf({ deliveryLog: 'failures' });
    for (const fn of functions(failures)) expect(fn.Properties.Environment.Variables.DELIVERY_LOG).toBe('failures');
    expect((failures.template.toJSON().Outputs as Record<string, { Value: unknown }>).DeliveryLogMode?.Value).toBe('failures');
    expect(() => templateOf({ deliveryLog: 'none' })).toThrow('deliveryLog must be all or failures, got "none"');
  });

  it('refuses an unknown tracing mode or log level, naming the choices', () => {
    expect(() => templateOf({ tracing: 'sometimes' })).toThrow('tracing must be off, passthrough or active, got "sometimes"');
    expect(() => templateOf({ logLevel: 'TRACE' })).toThrow('logLevel must be DEBUG, INFO, WARN or ERROR, got "TRACE"');
  });
});
