import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { IConstruct } from 'constructs';
import { createApp } from '../../lib/app';
import { StatusHooksStack } from '../../lib/statushooks-stack';

export interface Synthesized {
  readonly stack: StatusHooksStack;
  readonly template: Template;
  readonly outdir: string;
  /** Logical id of a construct's CloudFormation resource in the stack. */
  readonly idOf: (construct: IConstruct) => string;
  readonly cleanup: () => void;
}

/**
 * Context that synthesizes without bundling the functions (`cdk deploy --exclusively` does the same
 * for the stacks it leaves alone): for tests that read the template only, about 0.2 s a synth
 * instead of 3–5 s. The template is the same apart from the assets' hashes and contents.
 */
export const WITHOUT_BUNDLES = { [cxapi.BUNDLING_STACKS]: [] } as const;

/**
 * Synthesizes the app the way `cdk synth` and the local runtime do (createApp, real esbuild
 * bundles unless `options.bundles` is false) into a temporary cloud assembly. Bundling takes a
 * moment: call once per file, or without bundles where the test reads only the template.
 */
export function synth(context?: Record<string, unknown>, options: { bundles?: boolean } = {}): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-infra-'));
  let stack: StatusHooksStack;
  let template: Template;
  try {
    ({ stack } = createApp({ context: options.bundles === false ? { ...context, ...WITHOUT_BUNDLES } : context, outdir }));
    template = Template.fromStack(stack);
  } catch (error) {
    // A configuration the app refuses leaves no assembly folder behind.
    fs.rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  const idOf = (construct: IConstruct): string => {
    const child = construct.node.defaultChild ?? construct;
    return Stack.of(construct).getLogicalId(child as never);
  };
  return { stack, template, outdir, idOf, cleanup: () => fs.rmSync(outdir, { recursive: true, force: true }) };
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Every IAM statement in policies attached to `role` (inline default policy and friends). */
export function statementsOf(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId })))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function roleIdOf(s: Synthesized, fn: { role?: iam.IRole }): string {
  if (!fn.role) throw new Error('function has no role');
  return s.idOf(fn.role);
}

export const getAtt = (logicalId: string, attr = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attr] });
export const ref = (logicalId: string) => ({ Ref: logicalId });
