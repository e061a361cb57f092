/**
 * Small stand-ins for the runtime's unit tests: handler bundles written to a temp folder, the
 * compiled worker hosts, and the emulators with queues made from a hand-written template.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../../lambdas/adapters/aws-clients';
import { type Emulators, LOCAL_CREDENTIALS, type LocalQueue, createQueues, startEmulators } from '../../local/emulators';
import { type HostScripts, buildHostScripts } from '../../local/hosts/build';
import type { FunctionSpec } from '../../local/lambda-runner';
import { type CfnTemplate, TemplateResolver } from '../../local/template';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const REGION = 'us-east-1';

export interface Fixture {
  readonly dir: string;
  readonly hosts: HostScripts;
  cleanup(): void;
}

export async function fixture(): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-local-test-'));
  const hosts = await buildHostScripts(path.join(dir, 'hosts'));
  return { dir, hosts, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;

/** Writes `source` (a CommonJS module exporting `handler`) and returns a spec to run it. */
export function handlerSpec(f: Fixture, source: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  const name = `fn${++counter}`;
  const dir = path.join(f.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.js'), source);
  return {
    logicalId: name,
    name,
    displayName: name,
    arn: `arn:aws:lambda:${REGION}:000000000000:function:${name}`,
    modulePath: path.join(dir, 'index.js'),
    exportName: 'handler',
    runtime: 'nodejs24.x',
    timeoutSeconds: 5,
    memorySize: 128,
    environment: { AWS_REGION: REGION },
    maxEnvironments: 2,
    ...overrides,
  };
}

export interface QueueFixture {
  readonly emulators: Emulators;
  readonly sqs: SQSClient;
  readonly queues: Map<string, LocalQueue>;
  stop(): Promise<void>;
}

/** The emulators with the queues of a small template (logical id → properties). */
export async function queues(f: Fixture, definitions: Record<string, Record<string, unknown>>): Promise<QueueFixture> {
  const emulators = await startEmulators({ hostScript: f.hosts.emulatorHost, region: REGION, cwd: process.cwd() });
  const template: CfnTemplate = { Resources: Object.fromEntries(Object.entries(definitions).map(([id, Properties]) => [id, { Type: 'AWS::SQS::Queue', Properties }])) };
  const sqs = sqsClient({ endpoint: emulators.endpoints.sqs, region: REGION, credentials: LOCAL_CREDENTIALS, requestTimeoutMs: 30_000 });
  const created = await createQueues(template, new TemplateResolver(template, { region: REGION, accountId: '000000000000', stackName: 'Test' }), sqs);
  return {
    emulators,
    sqs,
    queues: created,
    async stop() {
      sqs.destroy();
      await emulators.stop();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
