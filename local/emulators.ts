/**
 * The AWS API emulators (dynalite for DynamoDB, fauxqs for SQS), run in a worker thread of their
 * own, and the creation of the template's tables and queues through their real APIs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ApiStatsSnapshot } from './hosts/api-stats';
import type { EmulatedService, EmulatorHostData, EmulatorHostMessage, EmulatorPorts, EmulatorRequest, TableFaultMode } from './hosts/protocol';
import type { AccessDenial, IamPolicies } from './iam';
import { type CfnTemplate, type PhysicalResource, TemplateResolver, UnsupportedTemplateError, dependencyOrder, resourcesOfType } from './template';

/** The account id fauxqs puts in queue ARNs and URLs; the local runtime uses it everywhere. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/**
 * The credentials of the runtime's own clients (pollers, targets, provisioning, demo). Functions
 * get an access key id of their own (iam.ts functionAccessKeyId), which is what IAM checks.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Makes an emulator unavailable (connections refused) and available again, keeping its data. */
export interface Fault {
  down(): Promise<void>;
  up(): Promise<void>;
  readonly isDown: boolean;
}

/** Makes DynamoDB fail every request on one table (throttled or unavailable), the rest working. */
export interface TableFaults {
  set(tableName: string, mode: TableFaultMode | null): Promise<void>;
}

/** The emulators' request counters (hosts/api-stats.ts): calls, bytes, item sizes, request units. */
export interface ApiCounters {
  read(): Promise<ApiStatsSnapshot>;
  reset(): Promise<void>;
}

export interface Emulators {
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  readonly faults: { readonly dynamodb: Fault; readonly sqs: Fault; readonly tables: TableFaults };
  readonly stats: ApiCounters;
  /** From now on, checks every request signed by a function against its role (iam.ts). */
  enforceIam(policies: IamPolicies): Promise<void>;
  stop(): Promise<void>;
}

/** Finds an installed package's folder without `require.resolve` (fauxqs exports no CommonJS entry). */
export function findPackageDir(name: string, from: readonly string[]): string {
  for (const start of from) {
    let dir = path.resolve(start);
    for (;;) {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`cannot find the "${name}" package (run npm ci)`);
}

export async function startEmulators(options: { hostScript: string; region: string; cwd: string; onAccessDenied?: (denial: AccessDenial) => void }): Promise<Emulators> {
  const hostData: EmulatorHostData = {
    dynalitePath: require.resolve('dynalite'),
    fauxqsDir: findPackageDir('fauxqs', [options.cwd, __dirname]),
    region: options.region,
  };
  const worker = new Worker(options.hostScript, { workerData: hostData, stdout: true, stderr: true });
  // The emulators are quiet when healthy; keep their output for diagnosing a crash.
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 200) output.shift();
  };
  worker.stdout.on('data', keep);
  worker.stderr.on('data', keep);

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exited: Error | undefined;
  worker.on('message', (response: EmulatorHostMessage) => {
    if ('notice' in response) {
      options.onAccessDenied?.(response.denial);
      return;
    }
    const p = pending.get(response.id);
    if (!p) return;
    pending.delete(response.id);
    if (response.ok) p.resolve(response.result);
    else p.reject(new Error(`emulator host: ${response.error}`));
  });
  const fail = (error: Error) => {
    exited = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('error', (error) => fail(new Error(`emulator host crashed: ${error.stack ?? error.message}\n${output.join('')}`)));
  worker.on('exit', (code) => fail(new Error(`emulator host exited with code ${code}`)));

  const call = (request: EmulatorRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never): Promise<unknown> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });
  };

  let ports: EmulatorPorts;
  try {
    ports = (await call({ op: 'start' })) as EmulatorPorts;
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  const fault = (service: EmulatedService): Fault => {
    let isDown = false;
    return {
      get isDown() {
        return isDown;
      },
      async down() {
        await call({ op: 'down', service });
        isDown = true;
      },
      async up() {
        await call({ op: 'up', service });
        isDown = false;
      },
    };
  };

  return {
    endpoints: { dynamodb: `http://127.0.0.1:${ports.dynamodb}`, sqs: `http://127.0.0.1:${ports.sqs}` },
    faults: { dynamodb: fault('dynamodb'), sqs: fault('sqs'), tables: { set: async (table, mode) => void (await call({ op: 'table-fault', table, mode })) } },
    stats: { read: async () => (await call({ op: 'stats' })) as ApiStatsSnapshot, reset: async () => void (await call({ op: 'stats-reset' })) },
    enforceIam: async (policies) => void (await call({ op: 'iam', policies })),
    async stop() {
      if (!exited) await call({ op: 'stop' }).catch(() => undefined);
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

export function dynamoDbClient(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region, credentials: LOCAL_CREDENTIALS });
}

const TABLE_TYPES = ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable'];

/**
 * Creates every DynamoDB table of the template: name, keys, attribute definitions, billing mode,
 * provisioned throughput, secondary indexes and stream. Settings dynalite does not model (TTL,
 * encryption, point-in-time recovery, deletion protection, tags) are left out.
 */
export async function createTables(template: CfnTemplate, resolver: TemplateResolver, client: DynamoDBClient): Promise<Map<string, string>> {
  const created = new Map<string, string>();
  const ids = Object.entries(template.Resources)
    .filter(([, r]) => TABLE_TYPES.includes(r.Type))
    .map(([id]) => id);
  for (const id of dependencyOrder(template, ids)) {
    const props = (resolver.resolve(template.Resources[id]!.Properties ?? {}, `${id}.Properties`) ?? {}) as Record<string, unknown>;
    const name = typeof props.TableName === 'string' ? props.TableName : id;
    const billing = typeof props.BillingMode === 'string' ? props.BillingMode : props.ProvisionedThroughput ? 'PROVISIONED' : 'PAY_PER_REQUEST';
    const throughput = billing === 'PROVISIONED' ? (props.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }) : undefined;
    const index = (i: Record<string, unknown>) => ({
      IndexName: i.IndexName,
      KeySchema: i.KeySchema,
      Projection: i.Projection,
      ...(throughput ? { ProvisionedThroughput: i.ProvisionedThroughput ?? throughput } : {}),
    });
    const stream = props.StreamSpecification as { StreamViewType?: string } | undefined;
    const input = {
      TableName: name,
      KeySchema: props.KeySchema,
      AttributeDefinitions: props.AttributeDefinitions,
      BillingMode: billing,
      ProvisionedThroughput: throughput,
      GlobalSecondaryIndexes: (props.GlobalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map(index),
      LocalSecondaryIndexes: (props.LocalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection })),
      StreamSpecification: stream?.StreamViewType ? { StreamEnabled: true, StreamViewType: stream.StreamViewType } : undefined,
    } as CreateTableCommandInput;
    const out = await client.send(new CreateTableCommand(input));
    const arn = out.TableDescription?.TableArn ?? `arn:aws:dynamodb:${resolver.env.region}:${resolver.env.accountId}:table/${name}`;
    const attributes: Record<string, string> = { Arn: arn };
    if (out.TableDescription?.LatestStreamArn) attributes.StreamArn = out.TableDescription.LatestStreamArn;
    resolver.define(id, { ref: name, attributes });
    created.set(id, name);
  }
  return created;
}

/** Queue properties that become SQS attributes as they are (numbers as strings). */
const PLAIN_QUEUE_ATTRIBUTES = ['DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds', 'VisibilityTimeout', 'FifoQueue', 'ContentBasedDeduplication'];
/** Queue properties that are JSON documents in the SQS API. */
const JSON_QUEUE_ATTRIBUTES = ['RedrivePolicy'];
/** Queue properties the emulator has no use for (encryption, tags, redrive-allow policy). */
const IGNORED_QUEUE_PROPERTIES = ['QueueName', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled', 'Tags', 'RedriveAllowPolicy', 'DeduplicationScope', 'FifoThroughputLimit'];

export interface LocalQueue {
  readonly logicalId: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

/**
 * Creates every SQS queue of the template with its attributes, dead-letter queues before the
 * queues whose RedrivePolicy points at them (as SQS requires). A property this cannot carry over
 * is refused by name.
 */
export async function createQueues(template: CfnTemplate, resolver: TemplateResolver, client: SQSClient): Promise<Map<string, LocalQueue>> {
  const created = new Map<string, LocalQueue>();
  const ids = resourcesOfType(template, 'AWS::SQS::Queue').map(([id]) => id);
  for (const id of dependencyOrder(template, ids)) {
    const props = (resolver.resolve(template.Resources[id]!.Properties ?? {}, `${id}.Properties`) ?? {}) as Record<string, unknown>;
    const fifo = String(props.FifoQueue) === 'true';
    const name = typeof props.QueueName === 'string' ? props.QueueName : fifo ? `${id}.fifo` : id;
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(props)) {
      if (PLAIN_QUEUE_ATTRIBUTES.includes(key)) attributes[key] = String(value);
      else if (JSON_QUEUE_ATTRIBUTES.includes(key)) attributes[key] = typeof value === 'string' ? value : JSON.stringify(value);
      else if (!IGNORED_QUEUE_PROPERTIES.includes(key)) {
        throw new UnsupportedTemplateError(`${id}: queue property ${key} is not supported by the local runtime`);
      }
    }
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const arn = attrs.Attributes?.QueueArn;
    if (!arn) throw new Error(`queue ${name} has no ARN`);
    const queue: LocalQueue = { logicalId: id, name, url: QueueUrl, arn };
    resolver.define(id, { ref: QueueUrl, attributes: { Arn: arn, QueueName: name, QueueUrl } } satisfies PhysicalResource);
    created.set(id, queue);
  }
  return created;
}
