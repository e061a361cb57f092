/**
 * The local runtime (docs/architecture.md §5): the synthesized stack, run on one machine.
 *
 *   template ──▶ dynalite + fauxqs (tables, queues)      worker thread
 *            ──▶ EventBridge endpoint (PutEvents, rules)  main thread, HTTP on 127.0.0.1
 *            ──▶ Lambda functions from their bundles      one worker thread per environment
 *            ──▶ SQS event source mappings (pollers)      main thread
 *
 * Everything is read from the template; the only local choices are ports, the region, the
 * scaled-down Lambda async retry delays and the long-poll wait.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { type BusSpec, LocalEventBridge, type RuleSpec, compileRouting } from './eventbridge';
import {
  type Fault,
  LOCAL_ACCOUNT_ID,
  LOCAL_CREDENTIALS,
  type LocalQueue,
  createQueues,
  createTables,
  dynamoDbClient,
  sqsClient,
  startEmulators,
} from './emulators';
import { DEFAULTS } from '../lambdas/core/config';
import { buildHostScripts } from './hosts/build';
import { AsyncInvoker, type AsyncInvokeConfig, type FunctionSpec, LambdaFunction } from './lambda-runner';
import { type DeliveryAttempt, formatAttempt, formatProblem, parseFunctionLine } from './logs';
import { acquireInstanceLock } from './instance-lock';
import { compilePattern } from './patterns';
import { type EventSourceMappingSpec, SqsEventSourcePoller } from './poller';
import { type SynthesizedStack, synthesizeApp, synthesizeCached } from './synth';
import { type CfnTemplate, TemplateResolver, UnsupportedTemplateError, referencedLogicalIds, resourcesOfType } from './template';
import { stringifyJson } from './json';

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

export interface LocalEndpoints {
  readonly eventbridge: string;
  readonly dynamodb: string;
  readonly sqs: string;
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
  readonly faults: { readonly dynamodb: Fault; readonly sqs: Fault };
  stop(): Promise<void>;
}

/** The content of `.statushooks/dev.json`: the stack outputs plus region and endpoints. */
export type LocalState = Record<string, unknown> & { region: string; endpoints: LocalEndpoints };

export const DEFAULT_REGION = 'us-east-1';

export function defaultStateFile(cwd: string): string {
  return path.join(cwd, '.statushooks', 'dev.json');
}

/** Context for the CDK app: values as strings, like `cdk -c`. */
export function runtimeContext(options: LocalRuntimeOptions): Record<string, string> {
  // cdk-nag guards deploys; locally it would only add seconds to every start.
  const context: Record<string, string> = { allowPrivateEndpoints: 'true', allowHttpEndpoints: 'true', nag: 'false' };
  if (options.retrySchedule) context.retrySchedule = options.retrySchedule.join(',');
  if (options.maxAttempts !== undefined) context.maxAttempts = String(options.maxAttempts);
  if (options.httpTimeoutMs !== undefined) {
    context.httpTimeoutMs = String(options.httpTimeoutMs);
    // The connect timeout may not exceed the total; keep it within a shortened total.
    context.httpConnectTimeoutMs = String(Math.min(DEFAULTS.httpConnectTimeoutMs, options.httpTimeoutMs));
  }
  return { ...context, ...options.context };
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const region = options.region ?? DEFAULT_REGION;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-local-'));
  const cleanups: Array<() => Promise<void> | void> = [() => fs.rmSync(workdir, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`! while stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    const stateFile = options.stateFile === false ? undefined : path.resolve(cwd, options.stateFile ?? defaultStateFile(cwd));
    // First of all: a second runtime must not touch the files of one that runs.
    const lock = stateFile ? acquireInstanceLock(path.dirname(stateFile), log) : undefined;
    if (lock) cleanups.push(() => lock.release());
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
    const synthesized = synthesizedResult.value;
    const hosts = hostsResult.value;
    const template = options.transformTemplate ? options.transformTemplate(synthesized.template) : synthesized.template;
    preflight(template);

    const emulators = await startEmulators({ hostScript: hosts.emulatorHost, region, cwd });
    cleanups.push(() => emulators.stop());
    const sqs = sqsClient(emulators.endpoints.sqs, region);
    const dynamodb = dynamoDbClient(emulators.endpoints.dynamodb, region);
    cleanups.push(() => {
      sqs.destroy();
      dynamodb.destroy();
    });

    const resolver = new TemplateResolver(template, { region, accountId: LOCAL_ACCOUNT_ID, stackName: synthesized.stackName });
    defineGenericResources(template, resolver);
    const functionIds = defineFunctions(template, resolver, region);
    await createTables(template, resolver, dynamodb);
    const queues = await createQueues(template, resolver, sqs);
    const queueByArn = new Map([...queues.values()].map((q) => [q.arn, q]));

    // Next to the state file the function logs outlive the run (for a look after Ctrl-C).
    const logFile = stateFile ? path.join(path.dirname(stateFile), 'functions.log') : path.join(workdir, 'functions.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const logStream = fs.createWriteStream(logFile, { flags: 'w' });
    cleanups.push(() => new Promise<void>((r) => logStream.end(() => r())));
    const onFunctionLog = (fn: string, stream: 'stdout' | 'stderr', line: string) => {
      logStream.write(`${new Date().toISOString()} ${fn} ${stream} ${line}\n`);
      const entry = parseFunctionLine(line);
      if (entry.kind === 'delivery-attempt') {
        log(formatAttempt(entry.attempt));
        options.onDeliveryAttempt?.(entry.attempt);
      } else if (entry.kind === 'log' && (entry.level === 'WARN' || entry.level === 'ERROR' || entry.level === 'CRITICAL')) {
        log(formatProblem(fn, entry));
      } else if (entry.kind === 'text' && stream === 'stderr') {
        log(`! ${fn}: ${line}`);
      }
    };

    // The EventBridge endpoint listens first so that the functions can be given its URL too.
    const bridge = new LocalEventBridge({ sqs, region, accountId: LOCAL_ACCOUNT_ID, log });
    const eventbridgeEndpoint = await bridge.start();
    cleanups.push(() => bridge.stop());
    const endpointsForFunctions = { dynamodb: emulators.endpoints.dynamodb, sqs: emulators.endpoints.sqs, eventbridge: eventbridgeEndpoint };
    const used = functionsInUse(template, resolver, functionIds);
    const functions = new Map<string, LambdaFunction>();
    for (const id of used) {
      const spec = functionSpec(template, resolver, id, synthesized.assemblyDir, workdir, region, endpointsForFunctions, options.maxEnvironmentsPerFunction ?? 10);
      const fn = new LambdaFunction(spec, hosts.lambdaHost, onFunctionLog);
      functions.set(id, fn);
      cleanups.push(() => fn.stop());
    }
    const functionByArnOrName = new Map<string, LambdaFunction>();
    for (const fn of functions.values()) {
      functionByArnOrName.set(fn.spec.arn, fn);
      functionByArnOrName.set(fn.spec.name, fn);
    }

    const invokers = new Map<LambdaFunction, AsyncInvoker>();
    const invokerFor = (fn: LambdaFunction): AsyncInvoker => {
      let invoker = invokers.get(fn);
      if (!invoker) {
        const config = asyncConfig(template, resolver, fn, queueByArn);
        invoker = new AsyncInvoker(fn, config, { sqs, retryDelaysMs: options.asyncRetryDelaysMs ?? [1000, 2000], log });
        invokers.set(fn, invoker);
        const created = invoker;
        cleanups.push(() => created.stop());
      }
      return invoker;
    };

    const routing = compileRouting(template, resolver, {
      queueUrlOfArn: (arn) => queueByArn.get(arn)?.url,
      resolveTarget: (arn, where) => {
        const fn = functionByArnOrName.get(arn.replace(/:\$LATEST$/, ''));
        if (fn) {
          const invoker = invokerFor(fn);
          return async (payload) => {
            invoker.invokeAsync(payload);
          };
        }
        const queue = queueByArn.get(arn);
        if (queue) {
          return async (payload) => {
            await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: stringifyJson(payload) }));
          };
        }
        throw new UnsupportedTemplateError(`${where}: target ${arn} is not supported by the local runtime (only this stack's Lambda functions and SQS queues)`);
      },
    });
    bridge.configure(routing);

    const pollers = eventSourceMappings(template, resolver, queueByArn, functionByArnOrName).map(
      ({ spec, fn }) => new SqsEventSourcePoller(spec, fn, { sqs, region, waitTimeSeconds: options.pollWaitSeconds ?? 1, log }),
    );

    // Cold starts now rather than on the first event; an init error shows up at once.
    await Promise.all(
      [...functions.values()].map(async (fn) => {
        const error = await fn.warm();
        if (error) log(`! ${fn.spec.displayName} failed to initialize: ${error.errorType}: ${error.errorMessage}`);
      }),
    );
    for (const poller of pollers) {
      poller.start();
      cleanups.push(() => poller.stop());
    }
    // Stopping begins by refusing new events (cleanups run in reverse order).
    cleanups.push(() => bridge.stop());

    const outputs = resolveOutputs(template, resolver);
    const endpoints: LocalEndpoints = { eventbridge: eventbridgeEndpoint, dynamodb: emulators.endpoints.dynamodb, sqs: emulators.endpoints.sqs };
    if (stateFile) {
      const state: LocalState = { ...outputs, region, endpoints };
      const text = `${JSON.stringify(state, null, 2)}\n`;
      fs.mkdirSync(path.dirname(stateFile), { recursive: true });
      fs.writeFileSync(stateFile, text);
      lock?.update(endpoints);
      cleanups.push(() => {
        // Remove the file only if it is still ours (another runtime may have replaced it).
        if (fs.existsSync(stateFile) && fs.readFileSync(stateFile, 'utf8') === text) fs.rmSync(stateFile);
      });
    }

    describeStack(log, routing.buses, routing.rules, functions, pollers.length, queues);
    let stopping: Promise<void> | undefined;
    return {
      outputs,
      endpoints,
      region,
      stateFile,
      logFile,
      faults: emulators.faults,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
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

const SPECIFIC_TYPES = new Set([
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Lambda::Function',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
]);

/**
 * Resources the local runtime does not create (roles, policies, alarms, archives...) still get a
 * `Ref` (their logical id) and, for roles, an ARN, so that references to them resolve; a GetAtt
 * of anything else is refused by name when something needs it.
 */
function defineGenericResources(template: CfnTemplate, resolver: TemplateResolver): void {
  const { region, accountId } = resolver.env;
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (SPECIFIC_TYPES.has(resource.Type)) continue;
    const attributes: Record<string, string> = {};
    if (resource.Type === 'AWS::IAM::Role') attributes.Arn = `arn:aws:iam::${accountId}:role/${id}`;
    if (resource.Type === 'AWS::Events::Archive') attributes.Arn = `arn:aws:events:${region}:${accountId}:archive/${id}`;
    if (resource.Type === 'AWS::CloudWatch::Alarm') attributes.Arn = `arn:aws:cloudwatch:${region}:${accountId}:alarm:${id}`;
    resolver.define(id, { ref: id, attributes });
  }
}

function defineFunctions(template: CfnTemplate, resolver: TemplateResolver, region: string): string[] {
  const ids: string[] = [];
  for (const [id, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const name = typeof resource.Properties?.FunctionName === 'string' ? resource.Properties.FunctionName : id;
    const arn = `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
    resolver.define(id, { ref: name, attributes: { Arn: arn } });
    ids.push(id);
  }
  return ids;
}

/** Our functions: those a rule targets or an event source mapping feeds (not CDK helper functions). */
function functionsInUse(template: CfnTemplate, resolver: TemplateResolver, functionIds: string[]): string[] {
  const referenced = new Set<string>();
  for (const [, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
    for (const id of referencedLogicalIds(rule.Properties?.Targets ?? [])) referenced.add(id);
  }
  for (const [, esm] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    for (const id of referencedLogicalIds(esm.Properties?.FunctionName)) referenced.add(id);
    const name = esm.Properties?.FunctionName;
    if (typeof name === 'string') {
      const match = functionIds.find((id) => resolver.physicalOf(id)?.ref === name || resolver.physicalOf(id)?.attributes.Arn === name);
      if (match) referenced.add(match);
    }
  }
  return functionIds.filter((id) => referenced.has(id));
}

function functionSpec(
  template: CfnTemplate,
  resolver: TemplateResolver,
  id: string,
  assemblyDir: string,
  workdir: string,
  region: string,
  endpoints: { dynamodb: string; sqs: string; eventbridge: string },
  maxEnvironments: number,
): FunctionSpec {
  const resource = template.Resources[id]!;
  const props = resource.Properties ?? {};
  const physical = resolver.physicalOf(id)!;
  const runtime = String(props.Runtime ?? '');
  if (!runtime.startsWith('nodejs')) throw new UnsupportedTemplateError(`function ${id}: runtime ${runtime || '(none)'} is not supported by the local runtime (Node.js only)`);
  if (props.PackageType === 'Image') throw new UnsupportedTemplateError(`function ${id}: container image functions are not supported by the local runtime`);
  const code = (props.Code ?? {}) as { ZipFile?: unknown };
  let codeDir: string;
  if (typeof code.ZipFile === 'string') {
    codeDir = path.join(workdir, 'inline', id);
    fs.mkdirSync(codeDir, { recursive: true });
    fs.writeFileSync(path.join(codeDir, 'index.js'), code.ZipFile);
  } else {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') throw new UnsupportedTemplateError(`function ${id}: its code is not a local asset (no aws:asset:path metadata)`);
    codeDir = path.resolve(assemblyDir, assetPath);
  }
  const handler = String(props.Handler ?? 'index.handler');
  const dot = handler.lastIndexOf('.');
  const base = path.join(codeDir, handler.slice(0, dot));
  const modulePath = ['.js', '.cjs', '.mjs'].map((ext) => base + ext).find((p) => fs.existsSync(p));
  if (!modulePath) throw new UnsupportedTemplateError(`function ${id}: handler ${handler} not found in ${codeDir}`);
  const variables = (resolver.resolve((props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}, `${id}.Properties.Environment.Variables`) ?? {}) as Record<string, unknown>;
  const timeoutSeconds = Number(props.Timeout ?? 3);
  const memorySize = Number(props.MemorySize ?? 128);
  const reserved = props.ReservedConcurrentExecutions === undefined ? undefined : Number(props.ReservedConcurrentExecutions);
  const name = physical.ref;
  const environment: Record<string, string> = {
    // What Lambda sets for every function.
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${id}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: `AWS_Lambda_${runtime}`,
    LAMBDA_TASK_ROOT: codeDir,
    _HANDLER: handler,
    ...(process.env.PATH ? { PATH: process.env.PATH } : {}),
    // The template's own variables, resolved to local names, URLs and ARNs.
    ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    // Credentials and endpoints of the local emulators (the SDK reads AWS_ENDPOINT_URL_<SERVICE>).
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Lambda runs Node 22; this machine may run Node 20, which the SDK warns about on every cold start.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  return {
    logicalId: id,
    name,
    displayName: displayName(id, name),
    arn: physical.attributes.Arn!,
    modulePath,
    exportName: handler.slice(dot + 1),
    timeoutSeconds,
    memorySize,
    environment,
    maxEnvironments: Math.max(1, Math.min(reserved ?? maxEnvironments, maxEnvironments)),
  };
}

/** `DeliveryFunction8263A102` → `DeliveryFunction`: the logical id without CDK's hash suffix. */
function displayName(logicalId: string, name: string): string {
  return name === logicalId ? logicalId.replace(/[0-9A-F]{8}$/, '') || logicalId : name;
}

function asyncConfig(template: CfnTemplate, resolver: TemplateResolver, fn: LambdaFunction, queueByArn: Map<string, LocalQueue>): AsyncInvokeConfig {
  const queueUrl = (arn: unknown, where: string): string => {
    const queue = typeof arn === 'string' ? queueByArn.get(arn) : undefined;
    if (!queue) throw new UnsupportedTemplateError(`${where}: destination ${String(arn)} is not supported by the local runtime (only this stack's SQS queues)`);
    return queue.url;
  };
  let config: AsyncInvokeConfig = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600 };
  const fnProps = template.Resources[fn.spec.logicalId]?.Properties ?? {};
  if (fnProps.DeadLetterConfig !== undefined) {
    const target = (resolver.resolve(fnProps.DeadLetterConfig, `${fn.spec.logicalId}.Properties.DeadLetterConfig`) as { TargetArn?: unknown }).TargetArn;
    config = { ...config, deadLetterQueueUrl: queueUrl(target, `function ${fn.spec.logicalId} DeadLetterConfig`) };
  }
  for (const [id, resource] of resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig')) {
    const props = (resolver.resolve(resource.Properties ?? {}, `${id}.Properties`) ?? {}) as Record<string, unknown>;
    if (props.FunctionName !== fn.spec.name && props.FunctionName !== fn.spec.arn) continue;
    const destinations = (props.DestinationConfig ?? {}) as { OnFailure?: { Destination?: unknown }; OnSuccess?: { Destination?: unknown } };
    config = {
      ...config,
      ...(props.MaximumRetryAttempts !== undefined ? { maximumRetryAttempts: Number(props.MaximumRetryAttempts) } : {}),
      ...(props.MaximumEventAgeInSeconds !== undefined ? { maximumEventAgeSeconds: Number(props.MaximumEventAgeInSeconds) } : {}),
      ...(destinations.OnFailure ? { onFailureQueueUrl: queueUrl(destinations.OnFailure.Destination, `${id} OnFailure`) } : {}),
      ...(destinations.OnSuccess ? { onSuccessQueueUrl: queueUrl(destinations.OnSuccess.Destination, `${id} OnSuccess`) } : {}),
    };
  }
  return config;
}

function eventSourceMappings(
  template: CfnTemplate,
  resolver: TemplateResolver,
  queueByArn: Map<string, LocalQueue>,
  functions: Map<string, LambdaFunction>,
): Array<{ spec: EventSourceMappingSpec; fn: LambdaFunction }> {
  const out: Array<{ spec: EventSourceMappingSpec; fn: LambdaFunction }> = [];
  for (const [id, resource] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const props = (resolver.resolve(resource.Properties ?? {}, `${id}.Properties`) ?? {}) as Record<string, unknown>;
    resolver.define(id, { ref: id, attributes: { Id: id } });
    if (props.Enabled === false || props.Enabled === 'false') continue;
    const queue = typeof props.EventSourceArn === 'string' ? queueByArn.get(props.EventSourceArn) : undefined;
    if (!queue) throw new UnsupportedTemplateError(`event source mapping ${id}: source ${String(props.EventSourceArn)} is not supported by the local runtime (only this stack's SQS queues)`);
    if (props.FilterCriteria !== undefined) throw new UnsupportedTemplateError(`event source mapping ${id}: FilterCriteria is not supported by the local runtime`);
    const fnRef = String(props.FunctionName ?? '');
    const fn = functions.get(fnRef) ?? functions.get(fnRef.replace(/:\$LATEST$/, ''));
    if (!fn) throw new UnsupportedTemplateError(`event source mapping ${id}: function ${fnRef} is not a function of this template`);
    const batchSize = Number(props.BatchSize ?? 10);
    const scaling = (props.ScalingConfig ?? {}) as { MaximumConcurrency?: unknown };
    const types = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
    out.push({
      fn,
      spec: {
        logicalId: id,
        queueUrl: queue.url,
        queueArn: queue.arn,
        batchSize,
        maximumBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
        maximumConcurrency: Math.min(Number(scaling.MaximumConcurrency ?? fn.spec.maxEnvironments), fn.spec.maxEnvironments),
        reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
      },
    });
  }
  return out;
}

function resolveOutputs(template: CfnTemplate, resolver: TemplateResolver): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    const value = resolver.resolve(output.Value, `output ${key}`);
    outputs[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return outputs;
}

function describeStack(log: (line: string) => void, buses: BusSpec[], rules: RuleSpec[], functions: Map<string, LambdaFunction>, pollers: number, queues: Map<string, LocalQueue>): void {
  const custom = buses.filter((b) => b.name !== 'default').map((b) => b.name);
  log(
    `local stack: bus ${custom.join(', ') || 'default'} · ${rules.length} rule(s) · ${functions.size} function(s) (${[...functions.values()].map((f) => f.spec.displayName).join(', ')}) · ${queues.size} queue(s) · ${pollers} event source mapping(s)`,
  );
}
