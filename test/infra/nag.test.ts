import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, NagPack, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { createApp } from '../../lib/app';
import { synth, WITHOUT_BUNDLES, type Synthesized } from './synth';

// cdk-nag 3 is a CDK validation plugin (Validations.of(app).addPlugins), not an Aspect: its
// findings are not Annotations. validateScope() runs a pack over a construct tree directly and
// returns what it would report, with acknowledged (suppressed) findings already left out.

const packs = (): NagPack[] => [new AwsSolutionsChecks(undefined, { verbose: true }), new ServerlessChecks(undefined, { verbose: true })];

const findings = (scope: IConstruct) =>
  packs().flatMap((pack) =>
    pack.validateScope(scope).violations.map((v) => ({
      rule: v.ruleName,
      severity: v.severity,
      resources: v.violatingResources.map((r) => r.constructPath),
      description: v.description,
    })),
  );

let s: Synthesized;
beforeAll(() => {
  s = synth();
});
afterAll(() => s?.cleanup());

describe('cdk-nag', () => {
  it('finds something in a deliberately bad stack (the packs are wired up)', () => {
    const stack = new Stack(new App({ outdir: s.outdir }), 'Bad');
    new sqs.Queue(stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const rules = findings(stack).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4', 'Serverless-SQSRedrivePolicy']));
  });

  it('reports no AwsSolutions or Serverless error or warning on the stack', () => {
    expect(findings(s.stack)).toEqual([]);
  });

  it('acknowledges only the reviewed findings, each with a reason', () => {
    const acknowledged: string[] = [];
    for (const construct of s.stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect(reason.length).toBeGreaterThan(40);
          acknowledged.push(`${construct.node.path.replace(/SqsEventSource:.*$/, 'SqsEventSource')} ${id.replace(/^Annotation::/, '')}`);
        }
      }
    }
    // A new acknowledgment is a security decision: add it here on purpose, with its reason in lib/.
    expect(acknowledged.sort()).toEqual(
      [
        'StatusHooks/Delivery/DeadLetterQueue Serverless-SQSRedrivePolicy',
        'StatusHooks/Delivery/Function Serverless-LambdaDLQ',
        'StatusHooks/Delivery/Function Serverless-LambdaTracing',
        'StatusHooks/Delivery/Function/SqsEventSource Serverless-LambdaEventSourceMappingDestination',
        'StatusHooks/Delivery/FunctionRole AwsSolutions-IAM5[Resource::*]',
        // The retry lane is the same function construct as the fast lane, with the same reasons.
        'StatusHooks/Delivery/RetryFunction Serverless-LambdaDLQ',
        'StatusHooks/Delivery/RetryFunction Serverless-LambdaTracing',
        'StatusHooks/Delivery/RetryFunction/SqsEventSource Serverless-LambdaEventSourceMappingDestination',
        'StatusHooks/Delivery/RetryFunctionRole AwsSolutions-IAM5[Resource::*]',
        'StatusHooks/FanOut/DeadLetterQueue AwsSolutions-SQS3',
        'StatusHooks/FanOut/DeadLetterQueue Serverless-SQSRedrivePolicy',
        'StatusHooks/FanOut/Function Serverless-LambdaDLQ',
        'StatusHooks/FanOut/Function Serverless-LambdaTracing',
        'StatusHooks/FanOut/FunctionRole AwsSolutions-IAM5[Resource::*]',
        'StatusHooks/FanOut/FunctionRole AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:replay/statushooks-*]',
      ].sort(),
    );
  });

  it('runs as part of synthesis: the clean stack synthesizes, a finding fails it', () => {
    // createApp registers both packs as validation plugins; an in-process synth throws on an error.
    expect(() => (s.stack.node.root as App).synth({ force: true })).not.toThrow();

    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-nag-'));
    try {
      const { app, stack, nag } = createApp({ outdir, context: WITHOUT_BUNDLES });
      new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
      // The line `cdk synth` prints names what was found, so a failed synth is explained.
      const summary = nag!.summary()!;
      expect(summary).toMatch(/^cdk-nag: AwsSolutions and Serverless packs: [1-9]\d* findings \(15 acknowledged\)\n/);
      expect(summary).toContain('  AwsSolutions-SQS4 on StatusHooks/Careless/Resource');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('says in one line that it ran and found nothing, with the number of acknowledged findings', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-nag-'));
    try {
      const { app, nag } = createApp({ outdir, context: WITHOUT_BUNDLES });
      expect(nag!.summary()).toBeUndefined(); // not run before synthesis
      app.synth();
      expect(nag!.summary()).toBe('cdk-nag: AwsSolutions and Serverless packs: 0 findings (15 acknowledged)');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('is off with -c nag=false (the local runtime), so nothing is printed', () => {
    const { nag } = createApp({ outdir: s.outdir, context: { nag: 'false' } });
    expect(nag).toBeUndefined();
  });
});
