/**
 * Start-up phase 1: synthesize the CDK app (cached) and build the worker host scripts, then check
 * what can be checked before anything runs.
 */
import path from 'node:path';
import { DEFAULTS } from '../../lambdas/core/config';
import { buildHostScripts, type HostScripts } from '../hosts/build';
import { compilePattern } from '../patterns';
import { type SynthesizedStack, synthesizeApp, synthesizeCached } from '../synth';
import { type CfnTemplate, referencedLogicalIds, resourcesOfType } from '../template';
import type { LocalRuntimeOptions } from '../runtime';

/** Context for the CDK app: values as strings, like `cdk -c`. */
export function runtimeContext(options: LocalRuntimeOptions): Record<string, string> {
  // cdk-nag guards deploys; locally it would only add seconds to every start.
  // DEBUG: the local runtime shows every attempt, successes included (a deployed stack logs
  // failures and decisions at INFO; successes are in the metrics and the delivery log).
  const context: Record<string, string> = { allowPrivateEndpoints: 'true', allowHttpEndpoints: 'true', nag: 'false', logLevel: 'DEBUG' };
  if (options.retrySchedule) context.retrySchedule = options.retrySchedule.join(',');
  if (options.maxAttempts !== undefined) context.maxAttempts = String(options.maxAttempts);
  if (options.httpTimeoutMs !== undefined) {
    context.httpTimeoutMs = String(options.httpTimeoutMs);
    // The connect timeout may not exceed the total; keep it within a shortened total.
    context.httpConnectTimeoutMs = String(Math.min(DEFAULTS.httpConnectTimeoutMs, options.httpTimeoutMs));
  }
  return { ...context, ...options.context };
}


export interface Synthesized {
  readonly stack: SynthesizedStack;
  readonly hosts: HostScripts;
  readonly template: CfnTemplate;
}

export async function synthesizeStack(options: LocalRuntimeOptions, cwd: string, workdir: string): Promise<Synthesized> {
  const context = runtimeContext(options);
  const outdir = path.join(workdir, 'cdk.out');
  // allSettled: if one fails, the other must still finish before the cleanup removes workdir,
  // or its late writes would leave the folder behind.
  const [synthesizedResult, hostsResult] = await Promise.allSettled([
    options.synthesize
      ? options.synthesize(context, outdir)
      : options.synthCache === false
        ? synthesizeApp({ cwd, outdir, context })
        : synthesizeCached({ cwd, context }),
    buildHostScripts(path.join(workdir, 'hosts')),
  ]);
  if (synthesizedResult.status === 'rejected') throw synthesizedResult.reason;
  if (hostsResult.status === 'rejected') throw hostsResult.reason;
  const stack = synthesizedResult.value;
  const template = options.transformTemplate ? options.transformTemplate(stack.template) : stack.template;
  preflight(template);
  return { stack, hosts: hostsResult.value, template };
}

/** Cheap checks before anything starts: patterns compile, resource types we must run are known. */
function preflight(template: CfnTemplate): void {
  for (const [id, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
    const pattern = rule.Properties?.EventPattern;
    if (pattern !== undefined && referencedLogicalIds(pattern).size === 0 && !JSON.stringify(pattern).includes('"Fn::')) {
      compilePattern(pattern, `rule ${id}`);
    }
  }
}

