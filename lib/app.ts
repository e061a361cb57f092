import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Node } from 'constructs';
import { contextSource, readSettings, resolveSettings, SETTING_DEFAULTS } from '../lambdas/core/settings';
import { StatusHooksConfigError } from './config-errors';
import { PROJECT_ROOT } from './function';
import { NagChecks } from './nag';
import { StatusHooksConfig, StatusHooksStack } from './statushooks-stack';

/** The stage as CDK context describes it: the stack's settings plus the app-level ones. */
export interface StageProps extends StatusHooksConfig {
  readonly stackName: string;
  /** Run cdk-nag on synth. */
  readonly nag?: boolean;
}

/**
 * Reads the stage configuration from CDK context (`cdk synth -c maxAttempts=3`, cdk.json
 * `context`, or `createApp({ context })`; keys and syntax from the declarations in
 * lambdas/core/settings.ts) and validates it by the same rules the stack applies. Values may be
 * strings (command line) or typed values. Throws one StatusHooksConfigError listing every
 * problem: values that cannot be read first, then those out of range.
 */
export function propsFromContext(node: Node): StageProps {
  const read = readSettings(contextSource((key) => node.tryGetContext(key)));
  // Also validate what could be read (unreadable values take their defaults), so one synth
  // lists every problem of the stage config.
  const { problems } = resolveSettings(read.settings);
  if (read.problems.length + problems.length > 0) {
    throw new StatusHooksConfigError('statushooks configuration', [...read.problems, ...problems]);
  }
  return { ...read.settings, stackName: read.settings.stackName ?? SETTING_DEFAULTS.stackName };
}

/**
 * The feature flags of cdk.json's `context`. The cdk CLI passes them to bin/app.ts; the local
 * runtime and the tests build the app in-process without the CLI, so createApp applies them
 * too: every synthesis path gets the same template.
 */
export function featureFlags(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return Object.fromEntries(Object.entries(cdkJson.context ?? {}).filter(([key]) => key.startsWith('@aws-cdk')));
}

export interface CreateAppOptions {
  /** CDK context (stage configuration, see lambdas/core/settings.ts); merged over the CLI's context. */
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
export function createApp(options: CreateAppOptions = {}): { app: cdk.App; stack: StatusHooksStack; nag?: NagChecks } {
  const app = new cdk.App({
    // Functions carry `aws:asset:path` metadata (their bundle directory) in-process too, as they
    // do under the CLI, so the local runtime finds each bundle from the template alone.
    context: { ...featureFlags(), [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true, ...options.context },
    outdir: options.outdir,
  });
  const { stackName, nag, ...config } = propsFromContext(app.node);
  // No env: environment-agnostic, so synth needs no credentials and no lookups.
  const stack = new StatusHooksStack(app, stackName, { stackName, ...config });

  return { app, stack, nag: (nag ?? SETTING_DEFAULTS.nag) ? new NagChecks(app) : undefined };
}
