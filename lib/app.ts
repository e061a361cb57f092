import * as cdk from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { Node } from 'constructs';
import { DEFAULTS, parseSchedule } from '../lambdas/core/config';
import { StatusHooksConfigError } from './errors';
import { resolveStatusHooksConfig, StatusHooksConfig, StatusHooksStack } from './statushooks-stack';

/**
 * CDK context keys of the stage configuration (`cdk synth -c maxAttempts=3`, cdk.json
 * `context`, or `createApp({ context })`). Values may be strings (command line) or typed values.
 */
export const CONTEXT_KEYS = [
  'stackName',
  'sources',
  'busName',
  'maxAttempts',
  'retrySchedule',
  'httpTimeoutMs',
  'httpConnectTimeoutMs',
  'deliveryBatchSize',
  'deliveryMaxConcurrency',
  'allowPrivateEndpoints',
  'allowHttpEndpoints',
  'archiveRetentionDays',
  'subscriptionCacheTtlMs',
  'deliveryQueueAgeAlarmSeconds',
  'nag',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface StageProps extends StatusHooksConfig {
  readonly stackName: string;
}

/**
 * Reads the stage configuration from CDK context. Only the *syntax* of the values is checked
 * here (a number is a number, a boolean is true/false); ranges and combinations are validated in
 * one place, by the stack. Throws a StatusHooksConfigError listing every unreadable value.
 */
export function propsFromContext(node: Node): StageProps {
  const { props, problems } = readContext(node);
  if (problems.length > 0) throw new StatusHooksConfigError('CDK context', problems);
  return props;
}

/** The context as props, plus the values that could not be read (left undefined in props). */
function readContext(node: Node): { props: StageProps; problems: string[] } {
  const problems: string[] = [];
  const raw = (key: ContextKey): unknown => {
    const value: unknown = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : value;
  };

  const text = (key: ContextKey): string | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      problems.push(`context ${key} must be a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value.trim();
  };

  const list = (key: ContextKey): string[] | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v: string) => v.trim());
    if (typeof value === 'string') return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
    problems.push(`context ${key} must be a comma-separated list, got ${JSON.stringify(value)}`);
    return undefined;
  };

  const num = (key: ContextKey): number | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    const n = typeof value === 'string' ? Number(value.trim()) : value;
    if (typeof n !== 'number' || Number.isNaN(n)) {
      problems.push(`context ${key} must be a number, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return n;
  };

  const bool = (key: ContextKey): boolean | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
    problems.push(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
    return undefined;
  };

  const schedule = (): number[] | undefined => {
    const value = raw('retrySchedule');
    if (value === undefined) return undefined;
    // Typed arrays go to the stack's validation as they are (it reports bad entries).
    if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? Number(v) : (v as number)));
    if (typeof value === 'number') return [value];
    if (typeof value === 'string') {
      try {
        return parseSchedule(value);
      } catch (e) {
        problems.push(`context retrySchedule: ${(e as Error).message}`);
        return undefined;
      }
    }
    problems.push(`context retrySchedule must be a comma-separated list of seconds, got ${JSON.stringify(value)}`);
    return undefined;
  };

  const props: StageProps = {
    stackName: text('stackName') ?? DEFAULTS.stackName,
    sources: list('sources'),
    eventBusName: text('busName'),
    maxAttempts: num('maxAttempts'),
    retrySchedule: schedule(),
    httpTimeoutMs: num('httpTimeoutMs'),
    httpConnectTimeoutMs: num('httpConnectTimeoutMs'),
    deliveryBatchSize: num('deliveryBatchSize'),
    deliveryMaxConcurrency: num('deliveryMaxConcurrency'),
    allowPrivateEndpoints: bool('allowPrivateEndpoints'),
    allowHttpEndpoints: bool('allowHttpEndpoints'),
    archiveRetentionDays: num('archiveRetentionDays'),
    subscriptionCacheTtlMs: num('subscriptionCacheTtlMs'),
    deliveryQueueAgeAlarmSeconds: num('deliveryQueueAgeAlarmSeconds'),
  };
  return { props, problems };
}

function problemsOf(config: StatusHooksConfig): readonly string[] {
  try {
    resolveStatusHooksConfig(config);
    return [];
  } catch (error) {
    if (error instanceof StatusHooksConfigError) return error.problems;
    throw error;
  }
}

export interface CreateAppOptions {
  /** CDK context (stage configuration, see CONTEXT_KEYS); merged over the CLI's context. */
  readonly context?: Record<string, unknown>;
  /** Cloud assembly directory. @default the CLI's outdir, or a temporary directory */
  readonly outdir?: string;
}

/**
 * Builds the app and the one stack. Used by `bin/app.ts` (cdk CLI) and in-process by the local
 * runtime and the infra tests, so it reads nothing but its options, the CDK context and the repo.
 *
 * cdk-nag's AwsSolutions and Serverless packs run on every synth (`-c nag=false` skips them),
 * so a finding fails `cdk synth` before it can reach a deploy.
 */
export function createApp(options: CreateAppOptions = {}): { app: cdk.App; stack: StatusHooksStack } {
  const app = new cdk.App({
    // Functions carry `aws:asset:path` metadata (their bundle directory) in-process too, as they
    // do under the CLI, so the local runtime finds each bundle from the template alone.
    context: { [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true, ...options.context },
    outdir: options.outdir,
  });
  const { props, problems } = readContext(app.node);
  const { stackName, ...config } = props;
  if (problems.length > 0) {
    // Also validate what could be read, so one synth lists every problem of the stage config.
    throw new StatusHooksConfigError('statushooks configuration', [...problems, ...problemsOf(config)]);
  }
  // No env: environment-agnostic, so synth needs no credentials and no lookups.
  const stack = new StatusHooksStack(app, stackName, { stackName, ...config });

  const nag: unknown = app.node.tryGetContext('nag');
  if (nag !== false && nag !== 'false') {
    cdk.Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true }),
      new ServerlessChecks(app, { verbose: true }),
    );
  }
  return { app, stack };
}
