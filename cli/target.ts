import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { formatIssues } from '../lambdas/core/issues';
import { documentClient, sqsClient } from '../lambdas/adapters/aws-clients';
import { DynamoSubscriptionStore } from '../lambdas/adapters/subscription-store';
import { DynamoHealthStore } from '../lambdas/adapters/health-store';
import { DynamoDeliveryLog } from '../lambdas/adapters/delivery-log-store';
import { OperationalEvents } from '../lambdas/adapters/operational-events';
import type { EndpointPolicy } from '../lambdas/core/config';
import { SETTINGS } from '../lambdas/core/settings';
import { CliError, UsageError, isNetworkError } from './cli-errors';
import { LOCAL_STATE_FILE, localStateSchema } from '../local/state-file';

/** The stack outputs the CLI uses (docs/architecture.md, `CfnOutput`s of the stack). */
export type OutputKey =
  | 'EventBusName'
  | 'EventBusArn'
  | 'ArchiveArn'
  | 'FanOutRuleArn'
  | 'SubscriptionsTableName'
  | 'HealthTableName'
  | 'DeliveryLogTableName'
  | 'DeliveryLogRetentionDays'
  | 'DeliveryLogMode'
  | 'DeliveryQueueUrl'
  | 'RetryQueueUrl'
  | 'DeliveryDlqUrl'
  | 'FanOutDlqUrl'
  | 'AllowPrivateEndpoints'
  | 'AllowHttpEndpoints'
  | 'EventSources'
  | 'ReplayFilterKeys';

export interface TargetOptions {
  readonly stack?: string;
  readonly local?: string;
  readonly allowPrivate?: boolean;
  readonly allowHttp?: boolean;
}

export interface Target {
  readonly kind: 'local' | 'stack';
  /** What was used, for messages: `local runtime (.statushooks/dev.json)`, `stack StatusHooks (eu-west-1)`. */
  readonly label: string;
  readonly region?: string;
  /** Explicit endpoints (local runtime); a deployed stack uses the SDK's own resolution. */
  readonly endpoints: { readonly eventbridge?: string; readonly dynamodb?: string; readonly sqs?: string };
  readonly outputs: Readonly<Record<string, string>>;
}

export function targetKind(options: TargetOptions): 'local' | 'stack' {
  if (options.stack !== undefined && options.local !== undefined) throw new UsageError('use either --stack or --local, not both');
  return options.stack !== undefined ? 'stack' : 'local';
}

/**
 * The EventBridge sources the target fans out (its output `EventSources`), or undefined for a
 * target that does not say (a stack deployed before that output).
 */
export function sourcesOf(target: Target): readonly string[] | undefined {
  const deployed = target.outputs[SETTINGS.sources.output!];
  return deployed === undefined || deployed === '' ? undefined : deployed.split(',');
}

/** Stack outputs carrying the deployed endpoint policy (declared with the settings, as `output`). */
export const POLICY_OUTPUTS = {
  allowPrivate: { output: SETTINGS.allowPrivateEndpoints.output!, flag: '--allow-private', setting: 'allowPrivateEndpoints' },
  allowHttp: { output: SETTINGS.allowHttpEndpoints.output!, flag: '--allow-http', setting: 'allowHttpEndpoints' },
} as const;

/**
 * Which subscription URLs the target accepts. The local runtime delivers to loopback receivers
 * over plain http. A deployed stack says its policy in its outputs (AllowPrivateEndpoints,
 * AllowHttpEndpoints); --allow-private / --allow-http still override it, with a warning when they
 * contradict it, and stand in for a stack deployed before those outputs existed (strict otherwise).
 */
export function endpointPolicyFor(options: TargetOptions, target?: Target, warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): EndpointPolicy {
  if (targetKind(options) === 'local') return { allowPrivate: true, allowHttp: true };
  const policy = { allowPrivate: false, allowHttp: false };
  for (const key of ['allowPrivate', 'allowHttp'] as const) {
    const { output, flag, setting } = POLICY_OUTPUTS[key];
    const deployed = target?.outputs[output];
    const stack = deployed === 'true' ? true : deployed === 'false' ? false : undefined;
    if (options[key] === true) {
      if (stack === false) {
        warn(`warning: ${flag} overrides ${target!.label}, deployed with ${setting}=false: its delivery function will refuse this URL`);
      }
      policy[key] = true;
    } else {
      policy[key] = stack ?? false;
    }
  }
  return policy;
}

export async function resolveTarget(options: TargetOptions, cwd = process.cwd()): Promise<Target> {
  return targetKind(options) === 'stack' ? stackTarget(options.stack!) : localTarget(options.local, cwd);
}

function localTarget(file: string | undefined, cwd: string): Target {
  const explicit = file !== undefined;
  let location = path.resolve(cwd, file ?? LOCAL_STATE_FILE);
  if (explicit && !existsSync(location)) throw new CliError(`no target: --local ${file} does not exist (${location})`);
  if (!explicit) {
    // Like git: from the working directory up to the filesystem root, the nearest folder with a
    // local runtime state file wins, so the CLI works from any folder of the project.
    for (let dir = path.resolve(cwd); !existsSync(location); ) {
      const parent = path.dirname(dir);
      if (parent === dir) {
        throw new CliError(
          `no target: no --stack given and no local runtime state (${LOCAL_STATE_FILE}) in ${path.resolve(cwd)} or any folder above it; ` +
            'start the local runtime with `npm start`, or pass --stack <name> or --local <file>',
        );
      }
      dir = parent;
      location = path.join(dir, LOCAL_STATE_FILE);
    }
  }
  const shown = explicit ? file : path.relative(cwd, location) || location;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(location, 'utf8'));
  } catch (error) {
    throw new CliError(`no target: ${shown} is not valid JSON (${(error as Error).message})`);
  }
  const parsed = localStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues);
    throw new CliError(`no target: ${shown} is not a local runtime state file (${issues.join('; ')})`);
  }
  // The emulators accept any credentials; dummy ones spare a developer without an AWS setup
  // the SDK's "could not load credentials" error.
  if (!process.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID = 'statushooks-local';
    process.env.AWS_SECRET_ACCESS_KEY = 'statushooks-local';
  }
  const outputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.data)) if (typeof value === 'string' && key !== 'region') outputs[key] = value;
  return { kind: 'local', label: `local runtime (${shown})`, region: parsed.data.region, endpoints: parsed.data.endpoints, outputs };
}

async function stackTarget(stackName: string): Promise<Target> {
  if (stackName.trim() === '') throw new UsageError('--stack must not be empty');
  const cfn = new CloudFormationClient({ maxAttempts: 2 });
  let region: string | undefined;
  try {
    region = await cfn.config.region();
  } catch {
    region = undefined;
  }
  if (!region) throw new CliError(`no target: --stack ${stackName} needs an AWS region; set AWS_REGION (or a profile with a region via AWS_PROFILE)`);
  const label = `stack ${stackName} (${region})`;
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new CliError(`no target: ${label} not found`);
    const outputs: Record<string, string> = {};
    for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
    return { kind: 'stack', label, region, endpoints: {}, outputs };
  } catch (error) {
    if (error instanceof CliError) throw error;
    const e = error as Error;
    if (/does not exist/i.test(e.message)) throw new CliError(`no target: ${label} does not exist (CloudFormation DescribeStacks)`);
    if (isNetworkError(e)) throw new CliError(`no target: cannot reach CloudFormation for ${label}: ${e.message}`);
    if (e.name === 'CredentialsProviderError') throw new CliError(`no target: no AWS credentials for ${label}; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`);
    throw new CliError(`no target: CloudFormation DescribeStacks for ${label} failed: ${e.name}: ${e.message}`);
  } finally {
    cfn.destroy();
  }
}

/** A stack output the command needs; a missing one is the stack's problem, said plainly. */
export function outputOf(target: Target, key: OutputKey): string {
  const value = target.outputs[key];
  if (!value) throw new CliError(`${target.label} has no output ${key}`);
  return value;
}

/** The AWS clients of one command run, pointed at the target; destroyed when the command ends. */
export class Clients {
  private sqsClient?: SQSClient;
  private dbClient?: DynamoDBDocumentClient;
  private ebClient?: EventBridgeClient;

  constructor(readonly target: Target) {}

  get sqs(): SQSClient {
    this.sqsClient ??= sqsClient({ region: this.target.region, endpoint: this.target.endpoints.sqs });
    return this.sqsClient;
  }

  get db(): DynamoDBDocumentClient {
    this.dbClient ??= documentClient({ region: this.target.region, endpoint: this.target.endpoints.dynamodb });
    return this.dbClient;
  }

  get eventBridge(): EventBridgeClient {
    this.ebClient ??= new EventBridgeClient({ region: this.target.region, endpoint: this.target.endpoints.eventbridge, maxAttempts: 3 });
    return this.ebClient;
  }

  store(): DynamoSubscriptionStore {
    return new DynamoSubscriptionStore(this.db, outputOf(this.target, 'SubscriptionsTableName'));
  }

  /** Endpoint health (circuit breakers); fails plainly for a stack deployed before it existed. */
  health(): DynamoHealthStore {
    return new DynamoHealthStore(this.db, outputOf(this.target, 'HealthTableName'));
  }

  /** The delivery log; fails plainly for a stack deployed before it existed. */
  deliveryLog(): DynamoDeliveryLog {
    const days = Number(this.target.outputs.DeliveryLogRetentionDays);
    // A stack deployed before the setting existed logs everything.
    const mode = this.target.outputs.DeliveryLogMode === 'failures' ? 'failures' : 'all';
    return new DynamoDeliveryLog(this.db, outputOf(this.target, 'DeliveryLogTableName'), Number.isInteger(days) && days > 0 ? days : SETTINGS.deliveryLogRetentionDays.default, mode);
  }

  operationalEvents(): OperationalEvents {
    return new OperationalEvents(this.db, outputOf(this.target, 'HealthTableName'));
  }

  destroy(): void {
    this.sqsClient?.destroy();
    this.dbClient?.destroy();
    this.ebClient?.destroy();
  }
}
