/**
 * Start-up phase 4b: what the runtime tells the world once it runs: the stack outputs, the state
 * file the CLI and SDK clients read, and a one-line summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BusSpec, RuleSpec } from '../eventbridge';
import type { LocalQueue } from '../emulators';
import type { LambdaFunction } from '../lambda-runner';
import type { CfnTemplate, TemplateResolver } from '../template';
import { plural } from '../../lambdas/core/text';

/** Writes the state file; returns the cleanup that removes it only if it is still this runtime's. */
export function writeStateFile(stateFile: string, state: Record<string, unknown>): () => void {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(stateFile, text);
  return () => {
    if (fs.existsSync(stateFile) && fs.readFileSync(stateFile, 'utf8') === text) fs.rmSync(stateFile);
  };
}

export function resolveOutputs(template: CfnTemplate, resolver: TemplateResolver): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    const value = resolver.resolve(output.Value, `output ${key}`);
    outputs[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return outputs;
}

export function describeStack(log: (line: string) => void, buses: BusSpec[], rules: RuleSpec[], functions: Map<string, LambdaFunction>, pollers: number, queues: Map<string, LocalQueue>): void {
  const custom = buses.filter((b) => b.name !== 'default').map((b) => b.name);
  log(
    `local stack: bus ${custom.join(', ') || 'default'} · ${plural(rules.length, 'rule')} · ${plural(functions.size, 'function')} (${[...functions.values()].map((f) => f.spec.displayName).join(', ')}) · ${plural(queues.size, 'queue')} · ${plural(pollers, 'event source mapping')}`,
  );
}
