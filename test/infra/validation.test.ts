import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { DEFAULTS } from '../../lambdas/core/config';
import { createApp } from '../../lib/app';
import { StatusHooksConfigError } from '../../lib/config-errors';
import { resolveStatusHooksConfig, StatusHooksStack, type StatusHooksStackProps } from '../../lib/statushooks-stack';
import { synth, WITHOUT_BUNDLES } from './synth';

// Validation runs before any resource (and any bundle) is created, so these tests are fast.

function errorOf(build: () => unknown): Error {
  try {
    build();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

// An App without outdir creates a temporary directory; keep them all in one, removed afterwards.
let outdir: string;
beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-validation-'));
});
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const stackWith = (props: StatusHooksStackProps) => () => new StatusHooksStack(new App({ outdir }), 'Invalid', props);

/** The bullet lines of a configuration error. */
const problemsIn = (error: Error) => error.message.split('\n').filter((line) => line.startsWith('  - '));

describe('StatusHooksStack props validation', () => {
  it('applies the shared defaults when nothing is configured', () => {
    expect(resolveStatusHooksConfig({})).toMatchObject({
      sources: DEFAULTS.sources,
      maxAttempts: DEFAULTS.maxAttempts,
      retrySchedule: DEFAULTS.retrySchedule,
      httpTimeoutMs: DEFAULTS.httpTimeoutMs,
      deliveryBatchSize: DEFAULTS.deliveryBatchSize,
      deliveryMaxConcurrency: DEFAULTS.deliveryMaxConcurrency,
      allowPrivateEndpoints: false,
      allowHttpEndpoints: false,
      archiveRetentionDays: DEFAULTS.archiveRetentionDays,
    });
  });

  it('lists every problem in one error', () => {
    const error = errorOf(
      stackWith({
        maxAttempts: 0,
        retrySchedule: [],
        deliveryBatchSize: 0,
        deliveryMaxConcurrency: 1,
        sources: [],
      }),
    );
    expect(error).toBeInstanceOf(StatusHooksConfigError);
    expect(error.message).toMatch(/^Invalid statushooks configuration \(5 problems\)/);
    expect(problemsIn(error)).toEqual([
      '  - sources must list at least one EventBridge source',
      '  - maxAttempts must be an integer from 1 to 100, got 0',
      '  - retrySchedule must list at least one delay',
      '  - deliveryBatchSize must be an integer from 1 to 10, got 0',
      '  - deliveryMaxConcurrency must be an integer from 2 to 1000, got 1',
    ]);
  });

  it('rejects negative delays, oversized batches and timeouts the function cannot honour', () => {
    const error = errorOf(
      stackWith({
        retrySchedule: [60, -5],
        deliveryBatchSize: 11,
        httpTimeoutMs: DEFAULTS.deliveryFunctionTimeoutSeconds * 500 + 1,
        httpConnectTimeoutMs: 0,
        archiveRetentionDays: -1,
        eventBusName: 'default',
      }),
    );
    const problems = problemsIn(error);
    expect(problems).toHaveLength(6);
    expect(error.message).toContain('retrySchedule delays must be whole seconds from 0 to 43200, got -5');
    expect(error.message).toContain('deliveryBatchSize must be an integer from 1 to 10, got 11');
    expect(error.message).toContain(`httpTimeoutMs must be an integer from 1 to ${DEFAULTS.deliveryFunctionTimeoutSeconds * 500} (at most half the delivery function timeout)`);
    expect(error.message).toContain('httpConnectTimeoutMs must be an integer from 1');
    expect(error.message).toContain('archiveRetentionDays must be an integer from 0');
    expect(error.message).toContain('busName must be 1–256 letters');
    expect(error.message).not.toContain('eventBusName');
  });

  it('rejects a schedule whose jobs would expire in the queue before their last attempt', () => {
    const error = errorOf(stackWith({ maxAttempts: 10, retrySchedule: [43_200] }));
    expect(problemsIn(error)).toHaveLength(1);
    expect(error.message).toContain('more than the delivery queue keeps a job (345600 s)');
  });

  describe('deliveryQueueAgeAlarmSeconds', () => {
    // The delivery queue keeps a job 4 days; the alarm needs 5 breaching minutes in a row.
    const RETENTION_SECONDS = 4 * 86_400;
    const MAX = RETENTION_SECONDS - 5 * 60;

    it('accepts the queue\'s retention less the alarm\'s evaluation window, where the alarm can still fire', () => {
      const s = synth({ deliveryQueueAgeAlarmSeconds: String(MAX) }, { bundles: false });
      try {
        const resources = s.template.toJSON().Resources;
        const queue = s.idOf(s.stack.delivery.queue);
        const [alarm] = Object.values(s.template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'ApproximateAgeOfOldestMessage' } }));
        expect(alarm?.Properties).toMatchObject({ Threshold: MAX, ComparisonOperator: 'GreaterThanThreshold', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }] });
        // A job older than the threshold for the whole window has not yet expired.
        const window = (alarm!.Properties.Period as number) * (alarm!.Properties.EvaluationPeriods as number);
        expect(alarm!.Properties.Threshold + window).toBeLessThanOrEqual(resources[queue].Properties.MessageRetentionPeriod);
      } finally {
        s.cleanup();
      }
    });

    it('refuses one second more at synth time, saying why', () => {
      const error = errorOf(() => createApp({ outdir, context: { deliveryQueueAgeAlarmSeconds: String(MAX + 1) } }));
      expect(error).toBeInstanceOf(StatusHooksConfigError);
      expect(problemsIn(error)).toEqual([
        `  - deliveryQueueAgeAlarmSeconds must be an integer from 60 to ${MAX} (the delivery queue keeps a job ${RETENTION_SECONDS} s, and the alarm needs it older than this for 5 × 60 s), got ${MAX + 1}`,
      ]);
      expect(problemsIn(errorOf(stackWith({ deliveryQueueAgeAlarmSeconds: RETENTION_SECONDS })))).toHaveLength(1);
    });
  });

  it('reports bad command-line context the same way, before anything is bundled', () => {
    const error = errorOf(() => createApp({ outdir, context: { maxAttempts: '0', deliveryBatchSize: '11', retrySchedule: '60' } }));
    expect(problemsIn(error)).toEqual([
      '  - maxAttempts must be an integer from 1 to 100, got 0',
      '  - deliveryBatchSize must be an integer from 1 to 10, got 11',
    ]);
  });

  it('refuses a stack name CloudFormation would refuse with the other problems, not with a CDK stack trace', () => {
    const error = errorOf(() => createApp({ outdir, context: { stackName: 'statushooks_prod', maxAttempts: '0' } }));
    expect(error).toBeInstanceOf(StatusHooksConfigError);
    expect(problemsIn(error)).toEqual([
      `  - stackName must start with a letter and contain only letters, digits and '-' (at most 128 characters), got "statushooks_prod"`,
      '  - maxAttempts must be an integer from 1 to 100, got 0',
    ]);
    expect(problemsIn(errorOf(() => createApp({ outdir, context: { stackName: `S${'x'.repeat(128)}` } })))).toHaveLength(1);
    expect(() => createApp({ outdir, context: { stackName: `S${'x'.repeat(127)}`, nag: 'false', ...WITHOUT_BUNDLES } })).not.toThrow();
  });

  it('lists unreadable context values and out-of-range ones in the same error', () => {
    const error = errorOf(() => createApp({ outdir, context: { allowHttpEndpoints: 'maybe', deliveryMaxConcurrency: '1' } }));
    expect(error).toBeInstanceOf(StatusHooksConfigError);
    expect(problemsIn(error)).toEqual([
      '  - context allowHttpEndpoints must be true or false, got "maybe"',
      '  - deliveryMaxConcurrency must be an integer from 2 to 1000, got 1',
    ]);
  });
});
