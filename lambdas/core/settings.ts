/**
 * The stage configuration of statushooks, declared once. Each entry says what a setting is
 * (kind, default, allowed range, one line of documentation) and where it goes: its CDK context
 * key, the Lambda environment variable and the functions that get it, the `statushooks dev` flag,
 * the stack output. CDK context (lib/app.ts), the Lambda environment (adapters/env.ts) and the dev
 * flags (cli/commands/dev.ts) all parse through `readSettings` and check through
 * `settingsProblems`, and the README's configuration table is rendered from here.
 *
 * Adding a setting is one entry below plus its use.
 *
 * Pure: no process.env, no AWS; the callers hand in how to look a raw value up.
 */
import { OPERATIONAL_SOURCE } from './operational';

/** Facts of the deployment the ranges below depend on (not configurable). */
export const LIMITS = {
  /** Hard limit of SQS: visibility timeouts cannot exceed 12 hours. */
  sqsMaxVisibilitySeconds: 43_200,
  /**
   * Delivery function timeout (s); the queue's visibility timeout is 6× this. Budget of one job
   * in the worst case: GetItem (≤ 3 tries × 4 s) + the POST (httpTimeoutMs, at most half of this)
   * + ChangeMessageVisibility or the DLQ send (≤ 3 × 4 s), plus UpdateItem on 410: under 60 s.
   */
  deliveryFunctionTimeoutSeconds: 60,
  /**
   * Retention of the delivery queue: days, since jobs wait hours between attempts (the default
   * schedule spans ~7 h), but shorter than the DLQs' 14 days because a message SQS itself
   * redrives keeps its first enqueue time and would otherwise expire early in the DLQ.
   */
  deliveryQueueRetentionDays: 4,
  /** ± fraction of jitter applied to each scheduled delay. */
  retryJitter: 0.2,
  /**
   * Redrive of the retry lane (SQS's maximum). A wait there (open circuit, rate limit, a retry
   * received early) is a receive of the same message, so the delivery function carries a job that
   * has waited this often, less a margin, on as a new message (receive count 0) before SQS would
   * move it: the redrive stays the safety net against a handler that keeps crashing.
   */
  retryLaneMaxReceiveCount: 1000,
  /**
   * Least redrive `maxReceiveCount` of a queue that feeds Lambda: AWS recommends at least 5
   * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html), because a throttle,
   * timeout or crash of one invocation returns its whole batch to the queue, each job received once
   * more without an attempt made; below 5, a few of them park a batch untried and without reasons.
   * The fast lane's redrive is max(this, maxAttempts).
   */
  lambdaSourceMinMaxReceiveCount: 5,
  /** The delivery-queue age alarm: one datapoint (the Maximum) per period of this many seconds… */
  deliveryQueueAgeAlarmPeriodSeconds: 60,
  /** …and it fires when this many in a row breach its threshold. */
  deliveryQueueAgeAlarmEvaluationPeriods: 5,
} as const;

const DELIVERY_QUEUE_RETENTION_SECONDS = LIMITS.deliveryQueueRetentionDays * 86_400;
/**
 * The highest age alarm threshold that can still fire: a job must stay older than the threshold for
 * the whole evaluation window, and SQS deletes it at the queue's retention.
 */
const DELIVERY_QUEUE_AGE_ALARM_WINDOW_SECONDS = LIMITS.deliveryQueueAgeAlarmPeriodSeconds * LIMITS.deliveryQueueAgeAlarmEvaluationPeriods;
const DELIVERY_QUEUE_AGE_ALARM_MAX_SECONDS = DELIVERY_QUEUE_RETENTION_SECONDS - DELIVERY_QUEUE_AGE_ALARM_WINDOW_SECONDS;

/** The two functions of the stack, as named in declarations. */
export type FunctionName = 'fan-out' | 'delivery';

interface KindValues {
  integer: number;
  /** Any finite number (fractions allowed). */
  number: number;
  boolean: boolean;
  text: string;
  /** Comma-separated strings. */
  list: readonly string[];
  /** Comma-separated whole seconds. */
  seconds: readonly number[];
}
export type Kind = keyof KindValues;

export interface Declaration<K extends Kind = Kind, D extends KindValues[K] | undefined = KindValues[K] | undefined> {
  readonly kind: K;
  /** `undefined`: unset unless configured (the table says what happens then, in `doc`). */
  readonly default: D;
  /** One line for the README table. */
  readonly doc: string;
  /** Allowed values, for the README table; `check` enforces them. */
  readonly range?: string;
  /**
   * Problems of a value (sentences naming the setting); `all` holds every setting, defaults
   * applied (loosely typed: the declarations cannot refer to their own inferred type).
   */
  readonly check?: (value: KindValues[K], all: AllSettings) => string[];
  /** CDK context key (`cdk synth -c key=value`, cdk.json `context`). */
  readonly context?: string;
  /** Lambda environment variable and the functions the stack sets it on. */
  readonly env?: { readonly name: string; readonly functions: readonly FunctionName[] };
  /** Option of `statushooks dev`. */
  readonly devFlag?: string;
  /** Stack output (CfnOutput id) carrying the deployed value. */
  readonly output?: string;
}

/** Every setting's value by name, as `check` sees them. */
type AllSettings = Readonly<Record<string, unknown>>;

const declare = <K extends Kind, D extends KindValues[K] | undefined>(d: Declaration<K, D>): Declaration<K, D> => d;

/** An integer from min to max (max may depend on another setting); `why` explains the bound. */
function integerIn(name: string, min: number, max: number | ((all: AllSettings) => number), why = ''): Pick<Declaration<'integer'>, 'check'> {
  return {
    check: (value, all) => {
      const upper = typeof max === 'number' ? max : max(all);
      return Number.isInteger(value) && value >= min && value <= upper ? [] : [`${name} must be an integer from ${min} to ${upper}${why}, got ${value}`];
    },
  };
}

export const SETTINGS = {
  stackName: declare({
    kind: 'text',
    default: 'StatusHooks',
    doc: 'CloudFormation stack name (one stack per stage).',
    // CloudFormation's rule for stack names: checked here so a bad name is listed with the other
    // problems instead of failing inside CDK with a stack trace.
    range: 'a letter, then letters, digits, `-`; at most 128 characters',
    check: (value) =>
      /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value)
        ? []
        : [`stackName must start with a letter and contain only letters, digits and '-' (at most 128 characters), got "${value}"`],
    context: 'stackName',
  }),
  sources: declare({
    kind: 'list',
    default: ['returns.cloud'] as readonly string[],
    doc: 'EventBridge `source` values the fan-out rule (and the archive) accept; an event of another source on the bus is parked in the fan-out DLQ as unknown.',
    range: 'at least one, non-empty',
    check: (value) => [
      ...(value.length === 0 ? ['sources must list at least one EventBridge source'] : []),
      ...(value.some((s) => typeof s !== 'string' || s.trim() === '') ? ['sources must not contain empty values'] : []),
      ...(value.includes(OPERATIONAL_SOURCE) ? [`sources must not contain "${OPERATIONAL_SOURCE}": it is the source of the stack's own operational events`] : []),
    ],
    context: 'sources',
    // Fan-out refuses (parks) an event of another source that reached it (docs/architecture.md §1).
    env: { name: 'EVENT_SOURCES', functions: ['fan-out'] },
    // `statushooks events send` warns about a source the target does not accept.
    output: 'EventSources',
  }),
  eventBusName: declare({
    kind: 'text',
    default: undefined,
    doc: 'Name of the custom event bus; unset: a unique name CDK derives (see the `EventBusName` output).',
    range: "1–256 of letters, digits, `.`, `-`, `_`; not `default`",
    check: (value) =>
      value === 'default' || !/^[\w.-]{1,256}$/.test(value)
        ? [`busName must be 1–256 letters, digits, '.', '-' or '_' and not "default", got "${value}"`]
        : [],
    context: 'busName',
  }),
  archiveRetentionDays: declare({
    kind: 'integer',
    default: 30,
    doc: 'Days the archive keeps accepted events for replay; 0 keeps them indefinitely.',
    range: '0–36500',
    ...integerIn('archiveRetentionDays', 0, 36_500),
    context: 'archiveRetentionDays',
  }),
  deliveryLogRetentionDays: declare({
    kind: 'integer',
    default: 30,
    doc: 'Days the delivery log keeps a record after its last change (DynamoDB TTL on `expiresAt`; removal may lag by up to a few days).',
    range: '1–3650',
    ...integerIn('deliveryLogRetentionDays', 1, 3650),
    context: 'deliveryLogRetentionDays',
    env: { name: 'DELIVERY_LOG_RETENTION_DAYS', functions: ['fan-out', 'delivery'] },
    // The CLI's own writes to the log (discard, resend) keep the same retention.
    output: 'DeliveryLogRetentionDays',
  }),
  deliveryLog: declare({
    kind: 'text',
    default: 'all',
    doc: 'What the delivery log records: `all` (every delivery from the moment it is queued, about $3.20 per million deliveries) or `failures` (only deliveries that needed more than one attempt, were parked or dropped, or an operator touched: resent, redriven, replayed; a delivery without a record was delivered at its first attempt or is still queued).',
    range: 'all, failures',
    check: (value) => (['all', 'failures'].includes(value) ? [] : [`deliveryLog must be all or failures, got "${value}"`]),
    context: 'deliveryLog',
    env: { name: 'DELIVERY_LOG', functions: ['fan-out', 'delivery'] },
    // The CLI says why a delivery has no record.
    output: 'DeliveryLogMode',
    devFlag: '--delivery-log',
  }),
  maxAttempts: declare({
    kind: 'integer',
    default: 5,
    doc: `Delivery attempts per job before it is parked in the delivery DLQ (the fast lane queue's \`maxReceiveCount\` is the larger of this and ${LIMITS.lambdaSourceMinMaxReceiveCount}, AWS's least for a queue that feeds Lambda).`,
    range: '1–100',
    ...integerIn('maxAttempts', 1, 100),
    context: 'maxAttempts',
    env: { name: 'MAX_ATTEMPTS', functions: ['delivery'] },
    devFlag: '--max-attempts',
  }),
  retrySchedule: declare({
    kind: 'seconds',
    default: [60, 600, 3600, 21600] as readonly number[],
    doc: 'Seconds to wait after failed attempt n (n-th entry); the last entry repeats. Jitter ±20 %.',
    range: `0–${LIMITS.sqsMaxVisibilitySeconds} each; the whole schedule must fit the delivery queue's ${LIMITS.deliveryQueueRetentionDays} days`,
    check: (schedule, all) => {
      const problems = scheduleProblems(schedule);
      const maxAttempts = all.maxAttempts as number;
      if (problems.length > 0 || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) return problems;
      // Jobs that outlive the queue's retention vanish silently: the schedule must fit, jitter included.
      let span = 0;
      for (let attempt = 1; attempt < maxAttempts; attempt++) span += schedule[Math.min(attempt, schedule.length) - 1]!;
      const worstCase = Math.ceil(span * (1 + LIMITS.retryJitter));
      return worstCase < DELIVERY_QUEUE_RETENTION_SECONDS
        ? []
        : [
            `retrySchedule with maxAttempts ${maxAttempts} waits up to ${worstCase} s between the first and the last attempt, ` +
              `more than the delivery queue keeps a job (${DELIVERY_QUEUE_RETENTION_SECONDS} s)`,
          ];
    },
    context: 'retrySchedule',
    env: { name: 'RETRY_SCHEDULE', functions: ['delivery'] },
    devFlag: '--retry-schedule',
  }),
  httpTimeoutMs: declare({
    kind: 'integer',
    default: 10_000,
    doc: 'Total time of one webhook request, connect included (ms).',
    range: `1–${(LIMITS.deliveryFunctionTimeoutSeconds * 1000) / 2} (half the delivery function timeout)`,
    // The other half of the function's time is for the DynamoDB and SQS calls around the POST.
    ...integerIn('httpTimeoutMs', 1, (LIMITS.deliveryFunctionTimeoutSeconds * 1000) / 2, ' (at most half the delivery function timeout)'),
    context: 'httpTimeoutMs',
    env: { name: 'HTTP_TIMEOUT_MS', functions: ['delivery'] },
  }),
  httpConnectTimeoutMs: declare({
    kind: 'integer',
    default: 3_000,
    doc: 'Time to establish the TCP/TLS connection of a webhook request (ms).',
    range: '1–`httpTimeoutMs`',
    ...integerIn('httpConnectTimeoutMs', 1, (all) => Math.max(1, all.httpTimeoutMs as number), ' (at most httpTimeoutMs)'),
    context: 'httpConnectTimeoutMs',
    env: { name: 'HTTP_CONNECT_TIMEOUT_MS', functions: ['delivery'] },
  }),
  deliveryBatchSize: declare({
    kind: 'integer',
    default: 10,
    doc: 'Jobs per delivery invocation.',
    // SQS allows more than 10 only with a batching window, which delivery deliberately does not use.
    range: '1–10',
    ...integerIn('deliveryBatchSize', 1, 10),
    context: 'deliveryBatchSize',
  }),
  deliveryMaxConcurrency: declare({
    kind: 'integer',
    default: 10,
    doc: 'Maximum concurrent invocations of the fast lane (first attempts); parallel webhook traffic is bounded by this plus `retryMaxConcurrency`.',
    // The limits of the event source mapping's ScalingConfig.MaximumConcurrency.
    range: '2–1000',
    ...integerIn('deliveryMaxConcurrency', 2, 1000),
    context: 'deliveryMaxConcurrency',
  }),
  allowPrivateEndpoints: declare({
    kind: 'boolean',
    default: false,
    doc: 'Allow endpoints on private networks and loopback (link-local, metadata, multicast and broadcast stay refused).',
    range: 'true, false',
    context: 'allowPrivateEndpoints',
    env: { name: 'ALLOW_PRIVATE_ENDPOINTS', functions: ['delivery'] },
    output: 'AllowPrivateEndpoints',
  }),
  allowHttpEndpoints: declare({
    kind: 'boolean',
    default: false,
    doc: 'Allow plain `http://` endpoints.',
    range: 'true, false',
    context: 'allowHttpEndpoints',
    env: { name: 'ALLOW_HTTP_ENDPOINTS', functions: ['delivery'] },
    output: 'AllowHttpEndpoints',
  }),
  subscriptionCacheTtlMs: declare({
    kind: 'integer',
    default: 5_000,
    doc: 'How long the functions cache a subscription lookup (ms); 0 disables the cache.',
    range: '0–3600000',
    ...integerIn('subscriptionCacheTtlMs', 0, 3_600_000),
    context: 'subscriptionCacheTtlMs',
    env: { name: 'SUBSCRIPTION_CACHE_TTL_MS', functions: ['fan-out', 'delivery'] },
  }),
  fastLaneTimeoutMs: declare({
    kind: 'integer',
    default: 3_000,
    doc: "Request timeout of a first attempt in the fast lane (ms; at most `httpTimeoutMs`): an endpoint slower than this continues in the retry lane, whose requests get `httpTimeoutMs`.",
    range: `1–${(LIMITS.deliveryFunctionTimeoutSeconds * 1000) / 2}; capped at \`httpTimeoutMs\``,
    ...integerIn('fastLaneTimeoutMs', 1, (LIMITS.deliveryFunctionTimeoutSeconds * 1000) / 2),
    context: 'fastLaneTimeoutMs',
    env: { name: 'FAST_LANE_TIMEOUT_MS', functions: ['delivery'] },
  }),
  retryMaxConcurrency: declare({
    kind: 'integer',
    default: 10,
    doc: 'Maximum concurrent invocations of the retry lane (retries, slow and failing endpoints), apart from the fast lane.',
    range: '2–1000',
    ...integerIn('retryMaxConcurrency', 2, 1000),
    context: 'retryMaxConcurrency',
  }),
  breakerThreshold: declare({
    kind: 'integer',
    default: 5,
    doc: "Consecutive failed attempts to one endpoint that open its circuit breaker (its jobs then wait; one probe per interval).",
    range: '1–1000',
    ...integerIn('breakerThreshold', 1, 1000),
    context: 'breakerThreshold',
    env: { name: 'BREAKER_THRESHOLD', functions: ['delivery'] },
  }),
  breakerProbeIntervalSeconds: declare({
    kind: 'integer',
    default: 60,
    doc: 'Seconds between probes of an open circuit: while open, the endpoint gets at most one request per interval.',
    range: '1–3600',
    ...integerIn('breakerProbeIntervalSeconds', 1, 3600),
    context: 'breakerProbeIntervalSeconds',
    env: { name: 'BREAKER_PROBE_INTERVAL_SECONDS', functions: ['delivery'] },
  }),
  disableAfterHours: declare({
    kind: 'number',
    default: 120,
    doc: 'A subscription whose endpoint kept failing without one success for this long is disabled (fractions allowed).',
    range: 'more than 0, at most 312 (13 days: the retry lane keeps a waiting job 14 days)',
    check: (value) => (Number.isFinite(value) && value > 0 && value <= 312 ? [] : [`disableAfterHours must be a number of hours above 0 and at most 312 (the retry lane keeps a waiting job 14 days), got ${value}`]),
    context: 'disableAfterHours',
    env: { name: 'DISABLE_AFTER_HOURS', functions: ['delivery'] },
  }),
  healthCacheTtlMs: declare({
    kind: 'integer',
    default: 1_000,
    doc: "How long a delivery instance caches an endpoint's health (ms); 0 reads it for every job.",
    range: '0–60000',
    ...integerIn('healthCacheTtlMs', 0, 60_000),
    context: 'healthCacheTtlMs',
    env: { name: 'HEALTH_CACHE_TTL_MS', functions: ['delivery'] },
  }),
  alarmTopicArn: declare({
    kind: 'text',
    default: undefined,
    doc: 'SNS topic the CloudWatch alarms and the operational events notify; unset: alarms show in CloudWatch, events are listed by `statushooks events operational`.',
    range: 'an SNS topic ARN',
    check: (value) => (/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(value) ? [] : [`alarmTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got "${value}"`]),
    context: 'alarmTopicArn',
  }),
  deliveryQueueAgeAlarmSeconds: declare({
    kind: 'integer',
    default: 3600,
    doc: 'Alarm when the oldest fresh job in the delivery queue is older than this (s).',
    range: `60–${DELIVERY_QUEUE_AGE_ALARM_MAX_SECONDS} (the queue's retention less the alarm's ${DELIVERY_QUEUE_AGE_ALARM_WINDOW_SECONDS} s evaluation window)`,
    // SQS leaves messages received three times or more out of ApproximateAgeOfOldestMessage, so
    // jobs waiting for their long retries (1 h, 6 h) do not trip it; an old *fresh* job does, and
    // that means delivery is not keeping up. Above the maximum the alarm could never fire: SQS
    // deletes a job at the queue's retention, before it breached for the whole window.
    ...integerIn(
      'deliveryQueueAgeAlarmSeconds',
      60,
      DELIVERY_QUEUE_AGE_ALARM_MAX_SECONDS,
      ` (the delivery queue keeps a job ${DELIVERY_QUEUE_RETENTION_SECONDS} s, and the alarm needs it older than this for ${LIMITS.deliveryQueueAgeAlarmEvaluationPeriods} × ${LIMITS.deliveryQueueAgeAlarmPeriodSeconds} s)`,
    ),
    context: 'deliveryQueueAgeAlarmSeconds',
  }),
  tracing: declare({
    kind: 'text',
    default: 'passthrough',
    doc: 'X-Ray tracing of the functions: `off`, `passthrough` (traces only requests a producer already traces, at its sampling) or `active` (traces invocations at Lambda’s sampling, the first each second and 5 % of the rest, at $5 per million traces: about $0.30 per million events with full batches, $10 with trickle traffic).',
    range: 'off, passthrough, active',
    check: (value) => (['off', 'passthrough', 'active'].includes(value) ? [] : [`tracing must be off, passthrough or active, got "${value}"`]),
    context: 'tracing',
  }),
  logLevel: declare({
    kind: 'text',
    default: 'INFO',
    doc: "Lambda's application log level (JSON log format): `INFO` logs failures, parking and decisions with every id; `DEBUG` adds a line per successful attempt and queued event.",
    range: 'DEBUG, INFO, WARN, ERROR',
    check: (value) => (['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(value) ? [] : [`logLevel must be DEBUG, INFO, WARN or ERROR, got "${value}"`]),
    context: 'logLevel',
  }),
  systemLogLevel: declare({
    kind: 'text',
    default: 'WARN',
    doc: "Lambda's system log level: `INFO` adds Lambda's START/END/REPORT lines (about 300 bytes per invocation); `WARN` keeps only platform warnings and errors (timeouts, crashes).",
    range: 'DEBUG, INFO, WARN',
    check: (value) => (['DEBUG', 'INFO', 'WARN'].includes(value) ? [] : [`systemLogLevel must be DEBUG, INFO or WARN, got "${value}"`]),
    context: 'systemLogLevel',
  }),
  nag: declare({
    kind: 'boolean',
    default: true,
    doc: "Run cdk-nag's AwsSolutions and Serverless packs on synth (a finding fails the synth).",
    range: 'true, false',
    context: 'nag',
  }),
};

export type SettingName = keyof typeof SETTINGS;
type ValueOf<T> = T extends Declaration<infer K, infer D> ? KindValues[K] | D : never;
/** Every setting with its value (defaults applied). */
export type Settings = { readonly [N in SettingName]: ValueOf<(typeof SETTINGS)[N]> };
/** The settings someone configured; the rest take their defaults. */
export type PartialSettings = { readonly [N in SettingName]?: ValueOf<(typeof SETTINGS)[N]> };

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

const declarationOf = (name: SettingName): Declaration => SETTINGS[name] as Declaration;

/** The default of every setting. */
export const SETTING_DEFAULTS = Object.fromEntries(SETTING_NAMES.map((n) => [n, declarationOf(n).default])) as Settings;

/** Parses "60,600,3600" into [60, 600, 3600]; throws a readable error. */
export function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`retry schedule must be comma-separated whole seconds, e.g. "60,600,3600", got "${text}"`);
  }
  return values;
}

/** Problems with a retry schedule on its own (no retention check), as readable sentences. */
export function scheduleProblems(schedule: readonly number[]): string[] {
  const problems: string[] = [];
  if (schedule.length === 0) problems.push('retrySchedule must list at least one delay');
  for (const s of schedule) {
    if (!Number.isInteger(s) || s < 0 || s > LIMITS.sqsMaxVisibilitySeconds) {
      problems.push(`retrySchedule delays must be whole seconds from 0 to ${LIMITS.sqsMaxVisibilitySeconds}, got ${s}`);
    }
  }
  return problems;
}

/** Turns one raw value (a command-line string or a typed JSON value) into a setting's kind. */
function parseValue(kind: Kind, raw: unknown, label: string): { value: unknown } | { problem: string } {
  const shown = JSON.stringify(raw);
  switch (kind) {
    case 'integer': {
      const n = typeof raw === 'string' ? Number(raw.trim()) : raw;
      return typeof n === 'number' && !Number.isNaN(n) ? { value: n } : { problem: `${label} must be a number, got ${shown}` };
    }
    case 'number': {
      const n = typeof raw === 'string' ? Number(raw.trim()) : raw;
      return typeof n === 'number' && Number.isFinite(n) ? { value: n } : { problem: `${label} must be a number, got ${shown}` };
    }
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) return { value: raw.trim().toLowerCase() === 'true' };
      return { problem: `${label} must be true or false, got ${shown}` };
    case 'text':
      return typeof raw === 'string' ? { value: raw.trim() } : { problem: `${label} must be a string, got ${shown}` };
    case 'list':
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return { value: raw.map((v: string) => v.trim()) };
      if (typeof raw === 'string') return { value: raw.split(',').map((v) => v.trim()).filter((v) => v !== '') };
      return { problem: `${label} must be a comma-separated list, got ${shown}` };
    case 'seconds':
      // Typed arrays go to `check` as they are (it reports bad entries).
      if (Array.isArray(raw)) return { value: raw.map((v) => (typeof v === 'string' ? Number(v) : (v as number))) };
      if (typeof raw === 'number') return { value: [raw] };
      if (typeof raw === 'string') {
        try {
          return { value: parseSchedule(raw) };
        } catch (e) {
          return { problem: `${label}: ${(e as Error).message}` };
        }
      }
      return { problem: `${label} must be a comma-separated list of seconds, got ${shown}` };
  }
}

/** Where raw values come from: which key each setting has there, and how to name it in a message. */
export interface SettingSource {
  /** The key of a setting in this source, or undefined when the setting does not come from it. */
  key(name: SettingName): string | undefined;
  lookup(key: string): unknown;
  /** `context maxAttempts`, `environment variable MAX_ATTEMPTS`, `--max-attempts`. */
  label(key: string): string;
}

/** CDK context keys, read with the given lookup (e.g. `node.tryGetContext`). */
export const contextSource = (lookup: (key: string) => unknown): SettingSource => ({
  key: (name) => declarationOf(name).context,
  lookup,
  label: (key) => `context ${key}`,
});

/** Lambda environment variables (all declared ones; a function only has its own set). */
export const environmentSource = (env: Readonly<Record<string, string | undefined>>): SettingSource => ({
  key: (name) => declarationOf(name).env?.name,
  lookup: (key) => env[key],
  label: (key) => `environment variable ${key}`,
});

/** `statushooks dev` options, as commander hands them over (keyed by flag). */
export const devFlagSource = (values: Readonly<Record<string, unknown>>): SettingSource => ({
  key: (name) => declarationOf(name).devFlag,
  lookup: (flag) => values[flag],
  label: (flag) => flag,
});

/**
 * Reads the settings a source sets (unset, null and empty values stay unset). Only the syntax is
 * checked here; a value that cannot be read is left out and reported in `problems`.
 */
export function readSettings(source: SettingSource): { settings: PartialSettings; problems: string[] } {
  const settings: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of SETTING_NAMES) {
    const key = source.key(name);
    if (key === undefined) continue;
    const raw = source.lookup(key);
    if (raw === undefined || raw === null || raw === '') continue;
    const parsed = parseValue(declarationOf(name).kind, raw, source.label(key));
    if ('problem' in parsed) problems.push(parsed.problem);
    else settings[name] = parsed.value;
  }
  return { settings: settings as PartialSettings, problems };
}

/** Applies the defaults and checks every setting, in declaration order; every problem is listed. */
export function resolveSettings(configured: PartialSettings): { settings: Settings; problems: string[] } {
  const settings = { ...SETTING_DEFAULTS } as Record<string, unknown>;
  for (const name of SETTING_NAMES) if (configured[name] !== undefined) settings[name] = configured[name];
  const all = settings as Settings;
  const problems: string[] = [];
  for (const name of SETTING_NAMES) {
    const d = declarationOf(name);
    const value = settings[name];
    if (value === undefined) continue;
    if (d.kind === 'boolean' && typeof value !== 'boolean') {
      problems.push(`${name} must be true or false, got ${String(value)}`);
      continue;
    }
    problems.push(...(d.check?.(value as never, all) ?? []));
  }
  return { settings: all, problems };
}

/** A setting's value as the functions read it back (numbers and booleans as text, lists comma-separated). */
export function formatSetting(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The environment variables of one function's settings, for the stack to set. */
export function settingsEnvironment(settings: PartialSettings, fn: FunctionName): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const env = declarationOf(name).env;
    if (env?.functions.includes(fn) && settings[name] !== undefined) environment[env.name] = formatSetting(settings[name]);
  }
  return environment;
}

/** The declarations, for callers that build options or outputs from them. */
export function declarations(): ReadonlyArray<readonly [SettingName, Declaration]> {
  return SETTING_NAMES.map((n) => [n, declarationOf(n)] as const);
}

/** The README's configuration table (markdown), rendered from the declarations. */
export function renderSettingsTable(): string {
  const code = (s: string | undefined) => (s === undefined ? '' : `\`${s}\``);
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = declarations().map(([name, d]) => {
    const fallback = d.default === undefined ? '(unset)' : code(formatSetting(d.default));
    const env = d.env ? `${code(d.env.name)} (${d.env.functions.join(', ')})` : '';
    const also = [d.devFlag ? `\`statushooks dev ${d.devFlag}\`` : '', d.output ? `output ${code(d.output)}` : ''].filter(Boolean).join(', ');
    return [code(d.context ?? name), d.kind, fallback, d.range ?? '', env, also, d.doc].map(cell);
  });
  const header = ['CDK context', 'Type', 'Default', 'Range', 'Lambda environment (functions)', 'Also', 'Meaning'];
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export const SETTINGS_TABLE_START = '<!-- settings:start -->';
export const SETTINGS_TABLE_END = '<!-- settings:end -->';

/** The table between its markers, as README.md must contain it. */
export function settingsTableBlock(): string {
  return `${SETTINGS_TABLE_START}\n${renderSettingsTable()}\n${SETTINGS_TABLE_END}`;
}
