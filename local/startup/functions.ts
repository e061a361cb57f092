/**
 * Start-up phase 3a: the stack's Lambda functions, each from its bundle with the environment the
 * template gives it, their async invokers (retries, destinations) and the sink of their logs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, type LocalQueue } from '../emulators';
import { functionAccessKeyId } from '../iam';
import { AsyncInvoker, type AsyncInvokeConfig, type FunctionSpec, LambdaFunction } from '../lambda-runner';
import { type DeliveryAttempt, formatAttempt, formatNextAttempt, formatProblem, parseFunctionLine } from '../logs';
import { type CfnTemplate, type TemplateResolver, UnsupportedTemplateError, referencedLogicalIds, resourcesOfType } from '../template';
import type { Cleanups } from './cleanups';

export interface StackFunctions {
  readonly functions: Map<string, LambdaFunction>;
  /** By ARN and by name, as rules and mappings refer to them. */
  readonly byArnOrName: Map<string, LambdaFunction>;
  /** The async invoker of a function (created on first use, with its retries and destinations). */
  invokerFor(fn: LambdaFunction): AsyncInvoker;
}

export interface FunctionsSetup {
  readonly template: CfnTemplate;
  readonly resolver: TemplateResolver;
  readonly region: string;
  readonly assemblyDir: string;
  readonly workdir: string;
  readonly lambdaHost: string;
  readonly endpoints: { dynamodb: string; sqs: string; eventbridge: string };
  readonly functionIds: string[];
  readonly queueByArn: Map<string, LocalQueue>;
  /** An SQS client signed as the function's role: Lambda sends to a function's destinations with it. */
  readonly sqsOfFunction: (logicalId: string) => SQSClient;
  readonly maxEnvironments: number;
  readonly asyncRetryDelaysMs: readonly number[];
  readonly onLog: (fn: string, stream: 'stdout' | 'stderr', line: string) => void;
  readonly log: (line: string) => void;
  readonly cleanups: Cleanups;
}

/**
 * What the Lambda runtime provides besides Node.js: the AWS SDK for JavaScript v3 (`@aws-sdk/*`),
 * found through `NODE_PATH` (Lambda's includes `/var/runtime/node_modules`). The bundles leave it
 * out (lib/function.ts), so locally a folder with only `@aws-sdk` in it, linked to the SDK this
 * package installed, plays that part: a bundle that required anything else it did not bundle fails
 * here as it would on Lambda.
 */
export function runtimeModules(workdir: string): string {
  const dir = path.join(workdir, 'lambda-runtime', 'node_modules');
  const link = path.join(dir, '@aws-sdk');
  const sdk = path.dirname(path.dirname(require.resolve('@aws-sdk/client-sqs/package.json')));
  fs.mkdirSync(dir, { recursive: true });
  const current = fs.existsSync(link) ? fs.readlinkSync(link) : undefined;
  if (current !== sdk) {
    fs.rmSync(link, { force: true, recursive: true });
    try {
      fs.symlinkSync(sdk, link, 'dir');
    } catch (error) {
      // Another runtime sharing this work folder made the same link first.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || fs.readlinkSync(link) !== sdk) throw error;
    }
  }
  return dir;
}

export function startFunctions(s: FunctionsSetup): StackFunctions {
  const nodePath = runtimeModules(s.workdir);
  const functions = new Map<string, LambdaFunction>();
  const byArnOrName = new Map<string, LambdaFunction>();
  for (const id of functionsInUse(s.template, s.resolver, s.functionIds)) {
    const spec = functionSpec(s.template, s.resolver, id, s.assemblyDir, s.workdir, s.region, s.endpoints, s.maxEnvironments, nodePath);
    const fn = new LambdaFunction(spec, s.lambdaHost, s.onLog);
    functions.set(id, fn);
    byArnOrName.set(fn.spec.arn, fn);
    byArnOrName.set(fn.spec.name, fn);
    s.cleanups.add(() => fn.stop());
  }
  const invokers = new Map<LambdaFunction, AsyncInvoker>();
  const invokerFor = (fn: LambdaFunction): AsyncInvoker => {
    let invoker = invokers.get(fn);
    if (!invoker) {
      const created = new AsyncInvoker(fn, asyncConfig(s.template, s.resolver, fn, s.queueByArn), { sqs: s.sqsOfFunction(fn.spec.logicalId), retryDelaysMs: s.asyncRetryDelaysMs, log: s.log });
      invokers.set(fn, created);
      s.cleanups.add(() => created.stop());
      invoker = created;
    }
    return invoker;
  };
  return { functions, byArnOrName, invokerFor };
}

/** Cold starts now rather than on the first event; an init error shows up at once. */
export async function warmFunctions(functions: Iterable<LambdaFunction>, log: (line: string) => void): Promise<void> {
  await Promise.all(
    [...functions].map(async (fn) => {
      const error = await fn.warm();
      if (error) log(`! ${fn.spec.displayName} failed to initialize: ${error.errorType}: ${error.errorMessage}`);
    }),
  );
}

/**
 * Where function output goes: every line to the function log file (it outlives the run, for a
 * look after Ctrl-C); delivery attempts, the next attempt of a failed one and warnings also to
 * the runtime's own output.
 */
export function functionLogSink(logFile: string, log: (line: string) => void, onDeliveryAttempt: ((a: DeliveryAttempt) => void) | undefined, cleanups: Cleanups) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const logStream = fs.createWriteStream(logFile, { flags: 'w' });
  cleanups.add(() => new Promise<void>((r) => logStream.end(() => r())));
  return (fn: string, stream: 'stdout' | 'stderr', line: string): void => {
    logStream.write(`${new Date().toISOString()} ${fn} ${stream} ${line}\n`);
    const entry = parseFunctionLine(line);
    if (entry.kind === 'delivery-attempt') {
      log(formatAttempt(entry.attempt));
      onDeliveryAttempt?.(entry.attempt);
    } else if (entry.kind === 'log') {
      const shown = entry.level === 'WARN' || entry.level === 'ERROR' || entry.level === 'CRITICAL' ? formatProblem(fn, entry) : formatNextAttempt(entry);
      if (shown !== undefined) log(shown);
    } else if (entry.kind === 'text' && stream === 'stderr') {
      log(`! ${fn}: ${line}`);
    }
  };
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
  nodePath?: string,
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
    ...(nodePath ? { NODE_PATH: nodePath } : {}),
    // The template's own variables, resolved to local names, URLs and ARNs.
    ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    // Credentials and endpoints of the local emulators (the SDK reads AWS_ENDPOINT_URL_<SERVICE>).
    // The access key id is the function's own: the emulators check its calls against its role (iam.ts).
    AWS_ACCESS_KEY_ID: functionAccessKeyId(id),
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Lambda runs Node 24; this machine may run Node 20, which the SDK warns about on every cold start.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  return {
    logicalId: id,
    name,
    displayName: displayName(id, name),
    arn: physical.attributes.Arn!,
    modulePath,
    exportName: handler.slice(dot + 1),
    runtime,
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

