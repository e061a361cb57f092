import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
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
 * Synthesizes the app the way `cdk synth` and the local runtime do (createApp, real esbuild
 * bundles) into a temporary cloud assembly. Bundling takes a moment: call once per file.
 */
export function synth(context?: Record<string, unknown>): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-infra-'));
  const { stack } = createApp({ context, outdir });
  const template = Template.fromStack(stack);
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
