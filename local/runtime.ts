/**
 * The local runtime (docs/architecture.md §5): the synthesized stack, run on one machine.
 *
 *   template ──▶ dynalite + fauxqs (tables, queues)      worker thread
 *            ──▶ EventBridge endpoint (PutEvents, rules)  main thread, HTTP on 127.0.0.1
 *            ──▶ Lambda functions from their bundles      one worker thread per environment
 *            ──▶ SQS event source mappings (pollers)      main thread
 *            ──▶ each function's role (iam.ts)            checked on every call the function makes
 *
 * Everything is read from the template; the only local choices are ports, the region, the
 * scaled-down Lambda async retry delays and the long-poll wait.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalEventBridge, compileRouting } from './eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../lambdas/adapters/aws-clients';
import type { ApiStatsSnapshot } from './hosts/api-stats';
import type { FunctionUsage } from './lambda-runner';
import { type Fault, type TableFaults, LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, dynamoDbClient, startEmulators } from './emulators';
import { type LocalEndpoints, type LocalState, localStateFile } from './state-file';
import { acquireInstanceLock } from './instance-lock';
import { type AccessDenial, functionAccessKeyId } from './iam';
import type { DeliveryAttempt } from './logs';
import type { SynthesizedStack } from './synth';
import { type CfnTemplate, TemplateResolver } from './template';
import { Cleanups } from './startup/cleanups';
import { functionLogSink, startFunctions, warmFunctions } from './startup/functions';
import { DeniedCalls, enforceIam } from './startup/iam';
import { createPollers } from './startup/pollers';
import { provisionResources } from './startup/provision';
import { describeStack, resolveOutputs, writeStateFile } from './startup/state';
import { synthesizeStack } from './startup/synthesize';
import { targetFor } from './startup/targets';

export interface LocalRuntimeOptions {
  /** Delivery retry schedule in seconds (CDK context `retrySchedule`). */
  readonly retrySchedule?: readonly number[];
  /** Delivery attempts before the DLQ (CDK context `maxAttempts`). */
  readonly maxAttempts?: number;
  /** Per-request webhook timeout (CDK context `httpTimeoutMs`). */
  readonly httpTimeoutMs?: number;
  /** Further CDK context values (strings, as `cdk -c key=value` passes them). */
  readonly context?: Readonly<Record<string, string>>;
  /** Where to write the state file; default `<cwd>/.statushooks/dev.json`; false writes none. */
  readonly stateFile?: string | false;
  /** Receives every line the runtime prints; default stdout. */
  readonly log?: (line: string) => void;
  /** The project folder (holds lib/app.ts and node_modules); default process.cwd(). */
  readonly cwd?: string;
  readonly region?: string;
  /**
   * Delays before Lambda's async retries (ms). Lambda waits about 1 and 2 minutes; scaled down
   * to 1 and 2 seconds by default.
   */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** Most concurrent execution environments per function unless the template reserves fewer. */
  readonly maxEnvironmentsPerFunction?: number;
  /** Scales the archive's retention (tests: 1 / 86400 makes a retention day one second); default 1. */
  readonly archiveRetentionScale?: number;
  /** Long-poll wait of the event source mappings (s); default 1. */
  readonly pollWaitSeconds?: number;
  /** Called for each webhook attempt the delivery function logs. */
  readonly onDeliveryAttempt?: (attempt: DeliveryAttempt) => void;
  /**
   * Reuse a synthesized assembly when lib/, lambdas/, the package files and the context are
   * unchanged (kept in node_modules/.cache/statushooks); default true.
   */
  readonly synthCache?: boolean;
  /** Replaces the in-process synthesis of lib/app.ts (tests of the runtime itself). */
  readonly synthesize?: (context: Record<string, string>, outdir: string) => Promise<SynthesizedStack>;
  /** Edits the template before it is run (tests of start-up refusals). */
  readonly transformTemplate?: (template: CfnTemplate) => CfnTemplate;
}

export interface LocalRuntime {
  /** The stack outputs, resolved to local names, URLs and ARNs. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly endpoints: LocalEndpoints;
  readonly region: string;
  /** The state file written, if any. */
  readonly stateFile: string | undefined;
  /** Everything the functions printed (JSON logs, metrics); next to the state file, if any. */
  readonly logFile: string;
  /** Make an emulator unavailable and available again (same port, data kept). */
  readonly faults: { readonly dynamodb: Fault; readonly sqs: Fault; readonly tables: TableFaults };
  /**
   * What the functions did since the last reset (`npm run cost`): their calls to DynamoDB and SQS
   * as AWS bills them (hosts/api-stats.ts) and each function's invocations with their time.
   * The pollers' own calls (ReceiveMessage, DeleteMessageBatch) count too, as Lambda's event
   * source mapping bills them to the account.
   */
  readonly stats: { read(): Promise<RuntimeStats>; reset(): Promise<void> };
  /** Pauses the SQS event source mappings (messages then wait in their queues) and resumes them. */
  readonly eventSources: { pause(): Promise<void>; resume(): void };
  /** The template the runtime runs. */
  readonly template: CfnTemplate;
  /**
   * Every call a function made that its execution role does not allow (local/iam.ts), in order:
   * refused with AccessDenied as on AWS and printed as a `! IAM:` warning. Tests assert it stays empty.
   */
  readonly accessDenials: readonly AccessDenial[];
  stop(): Promise<void>;
}

export interface RuntimeStats {
  readonly api: ApiStatsSnapshot;
  /** By the function's short name (logical id without CDK's hash). */
  readonly functions: Record<string, FunctionUsage & { readonly logicalId: string; readonly memorySize: number }>;
}

export const DEFAULT_REGION = 'us-east-1';

export { type LocalEndpoints, type LocalState, localStateFile as defaultStateFile } from './state-file';

export { runtimeContext } from './startup/synthesize';

/**
 * Starts the stack locally, in phases: synthesize → emulators and their resources → functions,
 * targets and the bus → pollers and the state file. Anything that fails stops what was started.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const region = options.region ?? DEFAULT_REGION;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-local-'));
  const cleanups = new Cleanups(log);
  cleanups.add(() => fs.rmSync(workdir, { recursive: true, force: true }));
  try {
    const stateFile = options.stateFile === false ? undefined : path.resolve(cwd, options.stateFile ?? localStateFile(cwd));
    // First of all: a second runtime must not touch the files of one that runs.
    const lock = stateFile ? acquireInstanceLock(path.dirname(stateFile), log) : undefined;
    if (lock) cleanups.add(() => lock.release());

    const { stack, hosts, template } = await synthesizeStack(options, cwd, workdir);

    const denied = new DeniedCalls(log);
    const emulators = await startEmulators({ hostScript: hosts.emulatorHost, region, cwd, onAccessDenied: denied.record });
    cleanups.add(() => emulators.stop());
    // Its request timeout must outlast the pollers' long polls.
    const sqs = sqsClient({ endpoint: emulators.endpoints.sqs, region, credentials: LOCAL_CREDENTIALS, requestTimeoutMs: ((options.pollWaitSeconds ?? 1) + 10) * 1000 });
    const dynamodb = dynamoDbClient(emulators.endpoints.dynamodb, region);
    cleanups.add(() => {
      sqs.destroy();
      dynamodb.destroy();
    });
    const resolver = new TemplateResolver(template, { region, accountId: LOCAL_ACCOUNT_ID, stackName: stack.stackName });
    const { functionIds, queues, queueByArn } = await provisionResources(template, resolver, region, { sqs, dynamodb });

    // The EventBridge endpoint listens first so that the functions can be given its URL too.
    const bridge = new LocalEventBridge({ sqs, region, accountId: LOCAL_ACCOUNT_ID, log, retentionScale: options.archiveRetentionScale });
    const endpoints: LocalEndpoints = { eventbridge: await bridge.start(), dynamodb: emulators.endpoints.dynamodb, sqs: emulators.endpoints.sqs };
    cleanups.add(() => bridge.stop());
    // What Lambda itself does for a function uses the function's execution role: its event source
    // mappings receive and delete, its async invocations reach their destinations. Locally too
    // (the function's access key), so IAM checks those calls as well.
    const roleClients = new Map<string, SQSClient>();
    cleanups.add(() => roleClients.forEach((client) => client.destroy()));
    const sqsOfFunction = (logicalId: string): SQSClient => {
      let client = roleClients.get(logicalId);
      if (!client) {
        const credentials = { accessKeyId: functionAccessKeyId(logicalId), secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey };
        client = sqsClient({ endpoint: emulators.endpoints.sqs, region, credentials, requestTimeoutMs: ((options.pollWaitSeconds ?? 1) + 10) * 1000 });
        roleClients.set(logicalId, client);
      }
      return client;
    };
    const logFile = stateFile ? path.join(path.dirname(stateFile), 'functions.log') : path.join(workdir, 'functions.log');
    const functions = startFunctions({
      template, resolver, region, workdir, functionIds, queueByArn, sqsOfFunction, log, cleanups, endpoints,
      assemblyDir: stack.assemblyDir,
      lambdaHost: hosts.lambdaHost,
      maxEnvironments: options.maxEnvironmentsPerFunction ?? 10,
      asyncRetryDelaysMs: options.asyncRetryDelaysMs ?? [1000, 2000],
      onLog: functionLogSink(logFile, log, options.onDeliveryAttempt, cleanups),
    });
    const routing = compileRouting(template, resolver, {
      queueUrlOfArn: (arn) => queueByArn.get(arn)?.url,
      resolveTarget: (arn, where) => targetFor(arn, where, { functions, queueByArn, sqs, log }),
    });
    bridge.configure(routing);
    // Every call a function makes is checked against its role from its first invocation on.
    await enforceIam(template, resolver, functions.functions.values(), queueByArn, { emulators, bridge, denied }, log);

    const pollers = createPollers(template, resolver, queueByArn, functions.byArnOrName, { sqsOfFunction, region, waitTimeSeconds: options.pollWaitSeconds ?? 1, log });
    await warmFunctions(functions.functions.values(), log);
    for (const poller of pollers) {
      poller.start();
      cleanups.add(() => poller.stop());
    }
    // Stopping begins by refusing new events (cleanups run in reverse order).
    cleanups.add(() => bridge.stop());

    const outputs = resolveOutputs(template, resolver);
    if (stateFile) {
      cleanups.add(writeStateFile(stateFile, { ...outputs, region, endpoints } satisfies LocalState));
      lock?.update(endpoints);
    }
    describeStack(log, routing.buses, routing.rules, functions.functions, pollers.length, queues);
    let stopping: Promise<void> | undefined;
    const fns = [...functions.functions.values()];
    const stats = {
      read: async (): Promise<RuntimeStats> => ({
        api: await emulators.stats.read(),
        functions: Object.fromEntries(fns.map((fn) => [fn.spec.displayName, { ...fn.usageSnapshot(), logicalId: fn.spec.logicalId, memorySize: fn.spec.memorySize }])),
      }),
      reset: async () => {
        await emulators.stats.reset();
        for (const fn of fns) fn.resetUsage();
      },
    };
    const eventSources = {
      pause: async () => void (await Promise.all(pollers.map((p) => p.pause()))),
      resume: () => pollers.forEach((p) => p.resume()),
    };
    return { outputs, endpoints, region, stateFile, logFile, faults: emulators.faults, stats, eventSources, template, accessDenials: denied.denials, stop: () => (stopping ??= cleanups.runAll()) };
  } catch (error) {
    await cleanups.runAll();
    throw error;
  }
}
