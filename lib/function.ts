import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import type { MetricName } from '../lambdas/core/ports';
import { FUNCTION_BUNDLE } from './bundle-options';
import { INFRA_DEFAULTS } from './defaults';

const TRIM_SOURCE_MAP = path.join(__dirname, '..', 'scripts', 'trim-source-map.cjs');

/** Repository root: entries, the lockfile and package.json are resolved from here, not from cwd,
 * so the app also synthesizes when the local runtime calls it in-process from elsewhere. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Sent in the `user-agent` header as `statushooks/<version>` (docs/architecture.md §2). */
export const PACKAGE_VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

export interface StatusHooksFunctionProps {
  /** Handler file, relative to the repository root, e.g. `lambdas/fan-out/handler.ts`. */
  readonly entry: string;
  /** Powertools service name (logs and the `service` metric dimension). */
  readonly serviceName: string;
  /** Function timeout. */
  readonly timeout: Duration;
  /**
   * Memory size (MB).
   * @default INFRA_DEFAULTS.functionMemorySizeMb (256)
   */
  readonly memorySize?: number;
  /**
   * Log retention of the function's own log group.
   * @default INFRA_DEFAULTS.logRetention (one month)
   */
  readonly logRetention?: logs.RetentionDays;
  readonly description?: string;
  /** Tracing and log levels (settings `tracing`, `logLevel`, `systemLogLevel`). */
  readonly observability: FunctionObservability;
}

/** How a function is traced and what it logs: the stage's `tracing`, `logLevel` and `systemLogLevel` settings. */
export interface FunctionObservability {
  readonly tracing: string;
  readonly logLevel: string;
  readonly systemLogLevel: string;
}

/**
 * The CloudWatch namespace of the functions' own metrics: the stack's name (default
 * `StatusHooks`), so two stacks (stages) in one account and region never add up each other's
 * counts, and an alarm on one stack's metrics hears only that stack.
 */
export function metricsNamespace(scope: Construct): string {
  const name = Stack.of(scope).stackName;
  if (Token.isUnresolved(name)) throw new Error('the stack needs a literal stackName: it names the metrics namespace');
  return name;
}

const TRACING: Record<string, lambda.Tracing> = { off: lambda.Tracing.DISABLED, passthrough: lambda.Tracing.PASS_THROUGH, active: lambda.Tracing.ACTIVE };

/** What a function may do with a table: the exact DynamoDB actions it is granted, nothing broader. */
export type TableAccess = readonly `dynamodb:${string}`[];

/** What a function may do with a queue. */
export type QueueAccess = 'send' | 'consume';

/**
 * A NodejsFunction with the defaults every statushooks function shares (Node.js 24 on arm64,
 * tracing by the stage's setting, its own log group with retention, minified bundle with source
 * maps, Powertools environment), and `bind…` helpers that set the environment variable and grant IAM in one call,
 * so a handler can never get a resource name without the permission or vice versa.
 */
export class StatusHooksFunction extends NodejsFunction {
  /** Powertools' `service`: the dimension of this function's own metrics, and a field of its log lines. */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: StatusHooksFunctionProps) {
    // Created before super() because the function needs them at construction time. The explicit
    // log group gives retention (no log-retention custom resource); the explicit role keeps the
    // AWSLambdaBasicExecutionRole managed policy (log writes to every log group, Resource '*') out.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? INFRA_DEFAULTS.logRetention,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the statushooks ${props.serviceName} function`,
    });
    // The function writes only to its own log group.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    super(scope, id, {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      // Node.js 24, the newest LTS Lambda runs (deprecated on Lambda 2028-04-30; Node.js 22 on
      // 2027-04-30). Pinned, not NODEJS_LATEST: a runtime change is a deliberate, tested upgrade.
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? INFRA_DEFAULTS.functionMemorySizeMb,
      timeout: props.timeout,
      tracing: TRACING[props.observability.tracing] ?? lambda.Tracing.PASS_THROUGH,
      // JSON lines, filtered by Lambda itself: application lines below logLevel and platform lines
      // (START/END/REPORT at INFO) below systemLogLevel are never ingested, so never paid for.
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.observability.logLevel as lambda.ApplicationLogLevel,
      systemLogLevelV2: props.observability.systemLogLevel as lambda.SystemLogLevel,
      logGroup,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(scope),
        // Powertools filters too (the local runtime has no Lambda log filter of its own).
        POWERTOOLS_LOG_LEVEL: props.observability.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.userAgentVersion]: PACKAGE_VERSION,
      },
      bundling: {
        // Local esbuild from node_modules: synth must work offline and without Docker, also
        // in-process for the local runtime.
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: FUNCTION_BUNDLE.target,
        minify: FUNCTION_BUNDLE.minify,
        // Source maps for stack traces (NODE_OPTIONS above), without the sources' text, trimmed to
        // the project's own code: dependencies keep one position per run (scripts/trim-source-map.cjs),
        // so the map is about half the bundle instead of 1.45×.
        sourceMap: true,
        sourcesContent: FUNCTION_BUNDLE.sourcesContent,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [`"${process.execPath}" "${TRIM_SOURCE_MAP}" "${path.join(outputDir, 'index.js.map')}"`],
        },
        // The AWS SDK v3 comes from the Lambda runtime (as CDK's default for Node.js 18+): it is
        // ~580 KB of each bundle otherwise, and cold starts measured no faster with it bundled
        // (README "Cost and footprint"). Nothing else is left out; the local runtime provides `@aws-sdk/*`
        // the same way (local/startup/functions.ts).
        externalModules: [...FUNCTION_BUNDLE.external],
        // esbuild's size summary on every synth is noise; warnings and errors still show.
        logLevel: LogLevel.WARNING,
      },
    });

    this.serviceName = props.serviceName;

    // Tracing (active or pass-through) makes CDK add xray:PutTraceSegments/PutTelemetryRecords,
    // which X-Ray only supports on Resource '*'. Acknowledged for exactly that finding on this role.
    if (props.observability.tracing !== 'off') Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords (tracing active or pass-through) do not support resource-level permissions; Resource * is the only option. Every other statement of this role names its resource.',
      },
    );
    // Tracing is the stage's choice (setting `tracing`): X-Ray records sampled invocations when
    // active ($5 per million traces: up to $10 per million events with trickle traffic). Without
    // it, every failure is still in the logs with its ids, the delivery log and the metrics.
    if (props.observability.tracing !== 'active') {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason: `Tracing is "${props.observability.tracing}" by the stage's tracing setting (default passthrough): active tracing records invocations at Lambda's sampling (the first each second, 5 % of the rest) at $5 per million traces: up to $10 per million events with trickle traffic, several times what the rest of a delivery costs. Failures stay diagnosable from the JSON logs (every id), the delivery log and the metrics; set tracing=active to trace sampled invocations.`,
      });
    }
  }

  /** One of the metrics this function's code writes (EMF through Powertools: its namespace, dimension `service`). */
  metricOf(name: MetricName, options: { readonly period: Duration; readonly statistic: string }): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: metricsNamespace(this), metricName: name, dimensionsMap: { service: this.serviceName }, ...options });
  }

  /**
   * Sets `envName` to the table name and grants `access` on the table itself: not on its indexes
   * (which `table.grant` would add as `index/*`), since the functions only use the table's keys.
   * The tables are encrypted with the AWS managed key `aws/dynamodb`, whose key policy already lets
   * DynamoDB use it on behalf of the account's principals, so there is no key to grant.
   */
  bindTable(envName: string, table: dynamodb.ITable, access: TableAccess): iam.Grant {
    this.addEnvironment(envName, table.tableName);
    return iam.Grant.addToPrincipal({ grantee: this, actions: [...access], resourceArns: [table.tableArn] });
  }

  /** Sets `envName` to the queue URL and grants `access` on the queue. */
  bindQueue(envName: string, queue: sqs.IQueue, access: QueueAccess): iam.Grant {
    this.addEnvironment(envName, queue.queueUrl);
    return access === 'send' ? queue.grantSendMessages(this) : queue.grantConsumeMessages(this);
  }
}
