import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent } from 'aws-lambda';
import { observability } from '../../lambdas/adapters/observability';
import { DEFAULT_BREAKER_POLICY } from '../../lambdas/core/breaker';
import { DEFAULTS } from '../../lambdas/core/config';
import { buildJob } from '../../lambdas/core/job';
import { METRIC, type MetricName } from '../../lambdas/core/ports';
import { createDeliveryHandler, type DeliveryAdapters } from '../../lambdas/delivery/app';

type Emf = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } };

/** What was written to stdout and stderr while `run` ran (Powertools writes EMF lines to stdout, its warnings to stderr). */
async function capture(run: () => void | Promise<void>): Promise<{ emf: Emf[]; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  try {
    await run();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  const emf = out
    .join('')
    .split('\n')
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Emf);
  return { emf, stderr: err.join('') };
}

const metricDefinitions = (r: Emf) => r._aws.CloudWatchMetrics[0]!.Metrics;
const unitOf = (r: Emf, name: string) => metricDefinitions(r).find((m) => m.Name === name)?.Unit;

describe('observability: counts summed per invocation', () => {
  it('writes three counts of one name as one value 3, a count of 0 as 0, and every milliseconds value', async () => {
    const { metrics, publish } = observability('statushooks-test');
    const { emf } = await capture(() => {
      metrics.count(METRIC.deliveriesSucceeded);
      metrics.milliseconds(METRIC.endpointResponseTime, 12);
      metrics.count(METRIC.deliveriesSucceeded);
      metrics.milliseconds(METRIC.endpointResponseTime, 7);
      metrics.milliseconds(METRIC.deliveryLatency, 250);
      metrics.count(METRIC.deliveriesSucceeded);
      metrics.count(METRIC.deliveriesQueued, 0);
      metrics.milliseconds(METRIC.endpointResponseTime, 30);
      publish();
    });
    expect(emf).toHaveLength(1);
    const [record] = emf as [Emf];
    expect(record.DeliveriesSucceeded).toBe(3);
    expect(unitOf(record, 'DeliveriesSucceeded')).toBe(MetricUnit.Count);
    // Published as an addMetric of 0 was (e.g. fan-out's DeliveriesQueued for an event with no jobs).
    expect(record.DeliveriesQueued).toBe(0);
    expect(unitOf(record, 'DeliveriesQueued')).toBe(MetricUnit.Count);
    // Milliseconds stay individual values, in the order given: CloudWatch's percentiles are made from them.
    expect(record.EndpointResponseTime).toEqual([12, 7, 30]);
    expect(record.DeliveryLatency).toBe(250);
    expect(unitOf(record, 'EndpointResponseTime')).toBe(MetricUnit.Milliseconds);
    expect(unitOf(record, 'DeliveryLatency')).toBe(MetricUnit.Milliseconds);
  });

  it('writes nothing, and no warning, when nothing was counted', async () => {
    const { publish } = observability('statushooks-test');
    const { emf, stderr } = await capture(() => publish());
    expect(emf).toEqual([]);
    expect(stderr).toBe('');
  });

  it('starts the next invocation from zero', async () => {
    const { metrics, publish } = observability('statushooks-test');
    const first = await capture(() => {
      metrics.count(METRIC.deliveriesFailed, 2);
      metrics.count(METRIC.deliveriesFailed);
      publish();
    });
    const second = await capture(() => {
      metrics.count(METRIC.deliveriesFailed);
      publish();
    });
    const third = await capture(() => publish());
    expect(first.emf.map((r) => r.DeliveriesFailed)).toEqual([3]);
    expect(second.emf.map((r) => r.DeliveriesFailed)).toEqual([1]);
    expect(third.emf).toEqual([]);
  });

  it('writes the same names, units, dimensions, count sums and milliseconds values as one addMetric per call did', async () => {
    const calls: [MetricName, 'count' | 'ms', number | undefined][] = [
      [METRIC.eventsReceived, 'count', undefined],
      [METRIC.deliveriesQueued, 'count', 4],
      [METRIC.deliveryLatency, 'ms', 91],
      [METRIC.deliveriesSucceeded, 'count', undefined],
      [METRIC.endpointResponseTime, 'ms', 40],
      [METRIC.deliveriesSucceeded, 'count', undefined],
      [METRIC.deliveryLatency, 'ms', 120],
      [METRIC.deliveriesQueued, 'count', 0],
      [METRIC.invalidSubscriptions, 'count', 0],
    ];
    const adapter = await capture(() => {
      const { metrics, publish } = observability('statushooks-test');
      for (const [name, kind, value] of calls) {
        if (kind === 'ms') metrics.milliseconds(name, value!);
        else metrics.count(name, value);
      }
      publish();
    });
    // What the adapter wrote before: one Powertools addMetric per call.
    const direct = await capture(() => {
      const p = new PowertoolsMetrics({ serviceName: 'statushooks-test', namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULTS.metricsNamespace });
      for (const [name, kind, value] of calls) p.addMetric(name, kind === 'ms' ? MetricUnit.Milliseconds : MetricUnit.Count, value ?? 1);
      p.publishStoredMetrics();
    });
    /** Order of definitions aside, and a count's array of values as its sum (what CloudWatch's Sum makes of it). */
    const normal = (r: Emf) => {
      const { _aws, ...values } = r;
      const cw = _aws.CloudWatchMetrics[0]!;
      const units = new Map(cw.Metrics.map((m) => [m.Name, m.Unit]));
      const summed = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, units.get(k) === MetricUnit.Count && Array.isArray(v) ? (v as number[]).reduce((a, b) => a + b, 0) : v]),
      );
      return { namespace: cw.Namespace, dimensions: cw.Dimensions, metrics: [...cw.Metrics].sort((a, b) => a.Name.localeCompare(b.Name)), values: summed };
    };
    expect(adapter.emf).toHaveLength(1);
    expect(direct.emf).toHaveLength(1);
    expect(normal(adapter.emf[0]!)).toEqual(normal(direct.emf[0]!));
  });
});

describe('delivery handler: counts reach the invocation that made them', () => {
  const body = '{"event":"return_order.status.changed"}';
  const jobBody = (n: number) =>
    JSON.stringify(
      buildJob(
        { eventId: `evt-${n}`, event: 'return_order.status.changed', entityKey: 'returnOrder', tenantId: 'acme', oldStatus: 'approved', newStatus: 'option_selected', entity: { uuid: 'u-1', number: '100004', externalId: null }, time: '2026-11-28T09:59:59Z' },
        'sub_1',
        body,
        new Date('2026-11-28T09:59:59.500Z'),
      ),
    );
  const batch = (...ns: number[]): SQSEvent => ({
    Records: ns.map((n) => ({
      messageId: `m-${n}`,
      receiptHandle: `r-${n}`,
      body: jobBody(n),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:statushooks-delivery',
      awsRegion: 'us-east-1',
    })),
  });
  const context = { awsRequestId: 'test', functionName: 'statushooks-delivery', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

  it('publishes the counts of record handlers that threw, once, in their own invocation', async () => {
    const unused = async () => {
      throw new Error('not used in this test');
    };
    const adapters: DeliveryAdapters = {
      // Every lookup fails: each record is a fault (counted), and its handler throws (the record is retried).
      store: { get: async () => Promise.reject(new Error('DynamoDB is down')), disable: unused },
      health: { get: unused, save: unused, acquireProbe: unused, markSlow: unused, takeToken: unused, markDisabled: unused, resetIfDisabledAt: unused },
      operational: { publishOperational: unused },
      deliveryLog: { logQueued: async () => new Map(), logUpdate: async () => {} },
      sender: { send: unused },
      ownQueue: { changeVisibility: async () => {} },
      retryLane: { sendJob: unused },
      parking: { parkJob: unused },
      observability: observability('statushooks-delivery'),
      subscriptionCacheTtlMs: 0,
      healthCacheTtlMs: 0,
    };
    const handler = createDeliveryHandler(adapters, {
      lane: 'fast',
      retry: { maxAttempts: 5, schedule: [60, 600, 3600, 21600], jitter: 0, maxRetryAfterSeconds: 21600 },
      breaker: DEFAULT_BREAKER_POLICY,
      endpoints: { allowPrivate: false, allowHttp: false },
      userAgent: 'statushooks/test',
      deadlineSpanMs: 86_400_000,
    });
    const first = await capture(async () => {
      const response = await handler(batch(1, 2, 3), context);
      expect(response.batchItemFailures).toHaveLength(3);
    });
    const second = await capture(async () => {
      const response = await handler(batch(4), context);
      expect(response.batchItemFailures).toHaveLength(1);
    });
    expect(first.emf.map((r) => r.DeliveryFaults)).toEqual([3]);
    expect(second.emf.map((r) => r.DeliveryFaults)).toEqual([1]);
  });
});
