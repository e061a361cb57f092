import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type http from 'node:http';
import { formatDenial } from '../../local/iam';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

// The SDK's advice about future Node versions is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'bin', 'statushooks.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  readonly input?: string;
  /** The CLI script to run (default: this checkout's bin/statushooks.js). */
  readonly script?: string;
}

/** Runs the real CLI as a user does: `node bin/statushooks.js …`. */
export function cli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: undefined, ...options.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [options.script ?? CLI, ...args], { cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Parses stdout as JSON, with the whole result in the message when it is not. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

export interface FixtureState {
  readonly EventBusName: string;
  readonly SubscriptionsTableName: string;
  readonly DeliveryQueueUrl: string;
  readonly DeliveryDlqUrl: string;
  readonly FanOutDlqUrl: string;
  /** The local runtime's endpoint health table (the emulator fixture has none). */
  readonly HealthTableName?: string;
  readonly region: string;
  readonly endpoints: { eventbridge: string; dynamodb: string; sqs: string };
  readonly fakeAws: string;
}

export interface Fixture {
  readonly state: FixtureState;
  /** The dev.json the CLI reads via --local. */
  readonly devFile: string;
  readonly dir: string;
  readonly sqs: SQSClient;
  readonly db: DynamoDBDocumentClient;
  /** `--local <devFile>`, to append to CLI arguments. */
  readonly local: string[];
  stop(): Promise<void>;
}

/**
 * One fixture per test file: started before its tests (handed to `use`), stopped after them.
 * `emulators`: dynalite and fauxqs with a fake PutEvents/DescribeStacks endpoint that records what
 * it gets (for tests that inspect queues no function consumes); `runtime`: the whole local runtime.
 */
export function useFixture(use: (fixture: Fixture) => void, kind: 'emulators' | 'runtime' = 'emulators'): void {
  let fixture: Fixture | undefined;
  beforeAll(async () => {
    fixture = kind === 'runtime' ? await startRuntimeFixture() : await startFixture();
    use(fixture);
  }, 180_000);
  afterAll(async () => {
    await fixture?.stop();
  });
}

/** A Fixture over running emulators whose dev.json is in `dir`; `stopBackend` ends the emulators. */
function fixtureOf(state: FixtureState, dir: string, stopBackend: () => Promise<void>): Fixture {
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const sqs = new SQSClient({ region: state.region, endpoint: state.endpoints.sqs, credentials, useQueueUrlAsEndpoint: false });
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: state.region, endpoint: state.endpoints.dynamodb, credentials }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const devFile = path.join(dir, 'dev.json');
  return {
    state,
    devFile,
    dir,
    sqs,
    db,
    local: ['--local', devFile],
    async stop() {
      sqs.destroy();
      db.destroy();
      await stopBackend();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The local runtime (`statushooks dev` without the demo), its dev.json in a temp dir. */
export async function startRuntimeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'statushooks-cli-'));
  const runtime = await startLocalRuntime({ stateFile: path.join(dir, 'dev.json'), log: () => undefined });
  const outputs = runtime.outputs as Record<string, string>;
  const state: FixtureState = {
    EventBusName: outputs.EventBusName!,
    SubscriptionsTableName: outputs.SubscriptionsTableName!,
    DeliveryQueueUrl: outputs.DeliveryQueueUrl!,
    DeliveryDlqUrl: outputs.DeliveryDlqUrl!,
    FanOutDlqUrl: outputs.FanOutDlqUrl!,
    HealthTableName: outputs.HealthTableName!,
    region: runtime.region,
    endpoints: runtime.endpoints,
    fakeAws: '',
  };
  return fixtureOf(state, dir, async () => {
    await runtime.stop();
    expectNoAccessDenials(runtime);
  });
}

/** Starts test/cli/fixture/emulators.ts in its own process and writes its dev.json into a temp dir. */
export async function startFixture(): Promise<Fixture> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixture', 'emulators.ts')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const state = await new Promise<FixtureState>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(JSON.parse(line) as FixtureState));
    child.once('exit', (code) => reject(new Error(`emulator fixture exited early (${code})`)));
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'statushooks-cli-'));
  // dev.json as the local runtime writes it: outputs, region, endpoints (fakeAws is the fixture's own).
  const { fakeAws: _fakeAws, ...dev } = state;
  writeFileSync(path.join(dir, 'dev.json'), JSON.stringify(dev, null, 2));
  return fixtureOf(state, dir, async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.end();
    child.kill('SIGTERM');
    await exited;
  });
}

export async function scanTable(f: Fixture): Promise<Record<string, unknown>[]> {
  const out = await f.db.send(new ScanCommand({ TableName: f.state.SubscriptionsTableName, ConsistentRead: true }));
  return out.Items ?? [];
}

export async function getItem(f: Fixture, tenantId: string, subscriptionId: string): Promise<Record<string, unknown> | undefined> {
  const out = await f.db.send(new GetCommand({ TableName: f.state.SubscriptionsTableName, Key: { tenantId, subscriptionId }, ConsistentRead: true }));
  return out.Item;
}

export async function putItem(f: Fixture, item: Record<string, unknown>): Promise<void> {
  await f.db.send(new PutCommand({ TableName: f.state.SubscriptionsTableName, Item: item }));
}

export async function send(f: Fixture, queueUrl: string, body: string, attributes?: Record<string, MessageAttributeValue>): Promise<void> {
  await f.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
}

/** Every message of a queue, read and made visible again (nothing consumed). */
export async function peek(f: Fixture, queueUrl: string): Promise<Message[]> {
  const seen = new Map<string, Message>();
  for (;;) {
    const out = await f.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 20, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const m of fresh) seen.set(m.MessageId!, m);
  }
  const all = [...seen.values()];
  for (let i = 0; i < all.length; i += 10) {
    const chunk = all.slice(i, i + 10);
    await f.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((m, j) => ({ Id: `m${j}`, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }));
  }
  return all;
}

export async function visibleCount(f: Fixture, queueUrl: string): Promise<number> {
  const out = await f.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}

export async function purge(f: Fixture, ...queueUrls: string[]): Promise<void> {
  await Promise.all(queueUrls.map((QueueUrl) => f.sqs.send(new PurgeQueueCommand({ QueueUrl }))));
}

/** What the fake bus received through PutEvents. */
export async function putEventsReceived(f: Fixture): Promise<{ Source: string; DetailType: string; Detail: string; EventBusName: string; Time?: number | string; EventId: string }[]> {
  const res = await fetch(`${f.state.fakeAws}/__put-events`);
  return (await res.json()) as never;
}

/** Any call a function made outside its role (local/iam.ts) fails the file: a grant missing in lib/ shows up here, not on AWS. */
export function expectNoAccessDenials(runtime: LocalRuntime | undefined): void {
  expect(runtime?.accessDenials.map(formatDenial) ?? []).toEqual([]);
}

/** The end of a file that started its own local runtime: its receivers closed, the runtime stopped, its folder removed, no access denied. */
export async function stopLocalRuntime(runtime: LocalRuntime | undefined, servers: readonly http.Server[], dir: string | undefined): Promise<void> {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await runtime?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  expectNoAccessDenials(runtime);
}
