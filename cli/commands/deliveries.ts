import type { Command } from 'commander';
import { InvalidCursorError, type DeliveryPage, type DeliveryQuery } from '../../lambdas/adapters/delivery-log-store';
import { deliveryIdFor } from '../../lambdas/core/subscriptions';
import { SqsJobQueue } from '../../lambdas/adapters/job-queue';
import { DEFAULTS } from '../../lambdas/core/config';
import { DELIVERY_STATES, isDeliveryState, requeueBefore, requeueWords, waitingRequeue, type AttemptRecord, type DeliveryLogMode, type DeliveryRecord, type DeliveryState, type RequeueRecord } from '../../lambdas/core/delivery-log';
import type { DeliveryJob } from '../../lambdas/core/job';
import { CliError, UsageError } from '../cli-errors';
import { nonEmpty, parseSince, parseTenant, positiveInt } from '../inputs';
import { fields, printJson, printLines, table } from '../output';
import { withClients, withTargetOptions, type JsonOption } from '../run';
import { outputOf, targetKind, type Clients, type TargetOptions } from '../target';
import { plural } from '../../lambdas/core/text';
import { healthLine } from '../health-view';
import { healthOf } from './subscriptions';

/** Most records one page may hold (the store reads one index item and one record per record). */
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 20;

interface TenantOptions extends TargetOptions, JsonOption {
  tenant: string;
}

export function registerDeliveries(program: Command): void {
  const deliveries = program
    .command('deliveries')
    .description('the delivery log: what happened to each webhook (body, state, every attempt and what the endpoint answered); resend one');
  registerList(deliveries);
  registerGet(deliveries);
  registerResend(deliveries);
}

/** One record as `list --json` shows it. */
export function listView(r: DeliveryRecord) {
  return {
    deliveryId: r.deliveryId,
    tenantId: r.tenantId,
    subscriptionId: r.subscriptionId,
    event: r.event,
    entityUuid: r.entityUuid,
    state: r.state,
    attempts: r.attempts.length,
    lastStatusCode: r.lastStatusCode,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** One record as `get --json` shows it: everything, with the expiry as a time. */
export function recordView(r: DeliveryRecord) {
  return {
    deliveryId: r.deliveryId,
    tenantId: r.tenantId,
    subscriptionId: r.subscriptionId,
    event: r.event,
    eventId: r.eventId,
    entityUuid: r.entityUuid,
    entityNumber: r.entityNumber,
    state: r.state,
    reason: r.reason ?? null,
    url: r.url ?? null,
    occurredAt: r.occurredAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    expiresAt: r.expiresAt ? new Date(r.expiresAt * 1000).toISOString() : null,
    lastStatusCode: r.lastStatusCode,
    body: r.body,
    attempts: r.attempts.map((a) => ({ attempt: a.attempt, at: a.at, statusCode: a.statusCode, durationMs: a.durationMs, error: a.error, response: a.response, lane: a.lane ?? null })),
    requeues: r.requeues ?? [],
  };
}

interface ListOptions extends TenantOptions {
  subscription?: string;
  entity?: string;
  entityNumber?: string;
  state?: string;
  since?: string;
  until?: string;
  eventId?: string;
  limit: number;
  cursor?: string;
}

function parseState(text: string): DeliveryState {
  const state = text.trim();
  if (!isDeliveryState(state)) throw new UsageError(`--state: unknown state "${text}"; expected one of ${DELIVERY_STATES.join(', ')}`);
  return state;
}

function registerList(deliveries: Command): void {
  withTargetOptions(
    deliveries
      .command('list')
      .description('list deliveries of a tenant, newest first (filters combine)')
      .requiredOption('--tenant <id>', 'tenant id')
      .option('--subscription <id>', 'only deliveries of this subscription')
      .option('--entity <uuid>', "only deliveries about this entity (the uuid of the order, parcel or payment)")
      .option('--entity-number <number>', `only deliveries about the entity of this number (e.g. 100004); no index holds it, so a page reads at most ${NUMBER_SEARCH_READS} records: narrow it with --since`)
      .option('--state <state>', `only deliveries in this state: ${DELIVERY_STATES.join(', ')}`)
      .option('--since <time>', 'only deliveries created since: a duration (30m, 24h, 7d; at most 30d) or an ISO time')
      .option('--until <time>', 'only deliveries created before: a duration ago (30m, 24h) or an ISO time')
      .option('--event-id <id>', "only deliveries of this event (its EventBridge id), to each of the tenant's current subscriptions")
      .option('--limit <n>', `at most n deliveries (1–${MAX_LIMIT})`, positiveInt, DEFAULT_LIMIT)
      .option('--cursor <cursor>', 'continue after the page that printed this cursor (same filters)'),
  )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  statushooks deliveries list --tenant acme-shop --entity 90aabf83-d23c-4792-b483-2546b8041379',
        '  statushooks deliveries list --tenant acme-shop --entity-number 100004 --since 2d',
        '  statushooks deliveries list --tenant acme-shop --state parked --since 24h --json',
      ].join('\n'),
    )
    .action(async (options: ListOptions) => {
      targetKind(options);
      const tenantId = parseTenant('--tenant', options.tenant);
      if (options.limit > MAX_LIMIT) throw new UsageError(`--limit: at most ${MAX_LIMIT}, got ${options.limit}`);
      const query = {
        tenantId,
        subscriptionId: options.subscription === undefined ? undefined : nonEmpty('--subscription', options.subscription),
        entityUuid: options.entity === undefined ? undefined : nonEmpty('--entity', options.entity),
        ...(options.entityNumber === undefined ? {} : { entityNumber: nonEmpty('--entity-number', options.entityNumber), maxRecordsRead: NUMBER_SEARCH_READS }),
        state: options.state === undefined ? undefined : parseState(options.state),
        since: options.since === undefined ? undefined : new Date(parseSince('--since', options.since, Date.now())),
        until: options.until === undefined ? undefined : new Date(parseSince('--until', options.until, Date.now())),
        limit: options.limit,
        cursor: options.cursor === undefined ? undefined : nonEmpty('--cursor', options.cursor),
      };
      if (query.since && query.until && query.until <= query.since) throw new UsageError(`--until (${query.until.toISOString()}) must be after --since (${query.since.toISOString()})`);
      const eventId = options.eventId === undefined ? undefined : nonEmpty('--event-id', options.eventId);
      if (eventId !== undefined && query.cursor !== undefined) throw new UsageError('--event-id lists one event\'s deliveries on one page: it takes no --cursor');
      let page: DeliveryPage;
      let mode: DeliveryLogMode = 'all';
      try {
        page = await withClients(options, (c) => {
          const log = c.deliveryLog();
          mode = log.mode;
          return eventId === undefined ? log.list(query) : listByEvent(c, eventId, query);
        });
      } catch (error) {
        if (error instanceof InvalidCursorError) throw new UsageError(`--cursor: ${error.message}`);
        throw error;
      }
      if (options.json) return printJson({ deliveries: page.records.map(listView), next: page.next, ...(page.readLimitReached ? { readLimitReached: true } : {}) });
      // A search by number that stopped at its share of reads says so: the rest of the window is still unread.
      const searched = page.readLimitReached ? [`searched ${page.itemsRead} items of the delivery log (the entity number is on the records, not in an index); older ones are not searched yet`] : [];
      if (page.records.length === 0) {
        if (page.readLimitReached) return printLines(`no deliveries for tenant ${tenantId} match so far`, ...searched, `more: add --cursor ${page.next}`);
        return printLines(`no deliveries for tenant ${tenantId}${query.cursor ? ' after this cursor' : ''} match`, ...emptyListHints(query.entityUuid, mode));
      }
      printLines(
        table(
          ['CREATED', 'DELIVERY', 'SUBSCRIPTION', 'EVENT', 'ENTITY', 'STATE', 'ATTEMPTS', 'LAST'],
          page.records.map((r) => [r.createdAt, r.deliveryId, r.subscriptionId, r.event, r.entityUuid, r.state, String(r.attempts.length), lastResult(r)]),
        ),
      );
      if (page.next) printLines('', ...searched, `more: add --cursor ${page.next}`);
    });
}

/** How many delivery-log items one page of a search by entity number reads at most (about 5 s and 0.02 cents of reads). */
export const NUMBER_SEARCH_READS = 5_000;

export const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The deliveries of one event: their ids derive from (event id, subscription id), so each of the
 * tenant's subscriptions (valid items or not) names one record to read (BatchGetItem, 100 to a
 * call); the other filters apply to what is found. A subscription deleted since is not asked about.
 */
async function listByEvent(c: Clients, eventId: string, query: DeliveryQuery): Promise<DeliveryPage> {
  const log = c.deliveryLog();
  const { subscriptions, invalid } = await c.store().listByTenant(query.tenantId);
  const ids = [...subscriptions, ...invalid].map((s) => deliveryIdFor(eventId, s.subscriptionId));
  const records = (await log.getMany(query.tenantId, ids))
    .filter((r) => r.eventId === eventId)
    .filter((r) => query.subscriptionId === undefined || r.subscriptionId === query.subscriptionId)
    .filter((r) => query.entityUuid === undefined || r.entityUuid === query.entityUuid)
    .filter((r) => query.entityNumber === undefined || r.entityNumber === query.entityNumber)
    .filter((r) => query.state === undefined || r.state === query.state)
    .filter((r) => query.since === undefined || r.createdAt >= query.since.toISOString())
    .filter((r) => query.until === undefined || r.createdAt < query.until.toISOString())
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, query.limit);
  return { records, next: null, itemsRead: ids.length };
}

/** What an empty `deliveries list` may mean, beyond "nothing matches". */
export function emptyListHints(entity: string | undefined, mode: DeliveryLogMode): string[] {
  const hints: string[] = [];
  if (entity !== undefined && !UUID_SHAPE.test(entity)) hints.push(`note: --entity takes the entity's uuid; "${entity}" does not look like one: to search by the entity's number, use --entity-number ${entity}`);
  if (mode === 'failures') hints.push('note: this stack records failed deliveries only (deliveryLog = failures): a delivery made at its first attempt, or still queued, has no record');
  hints.push(
    "note: an event none of the tenant's subscriptions took (paused, disabled, another event, its status filter) was never queued: fan-out logs it as \"no matching subscriptions\" with each subscription's reason (docs/cli.md, deliveries list)",
  );
  return hints;
}

/** The last attempt's result in one cell: `200`, `timeout`, `-` (none yet). */
function lastResult(r: DeliveryRecord): string {
  const last = r.attempts[r.attempts.length - 1];
  if (!last) return '-';
  return last.statusCode !== null ? String(last.statusCode) : (last.error ?? '?').split(':')[0]!;
}

function registerGet(deliveries: Command): void {
  withTargetOptions(
    deliveries
      .command('get')
      .argument('<deliveryId>', 'the delivery id: the webhook-id header the endpoint received (msg_…)')
      .description('show one delivery: its body, its state and every attempt with what the endpoint answered')
      .requiredOption('--tenant <id>', 'tenant id'),
  )
    .addHelpText('after', '\nExample:\n  statushooks deliveries get msg_6f1c2a9e0b7d4e3f8a5b1c2d3e4f5a6b --tenant acme-shop')
    .action(async (deliveryId: string, options: TenantOptions) => {
      targetKind(options);
      const tenantId = parseTenant('--tenant', options.tenant);
      const id = nonEmpty('<deliveryId>', deliveryId);
      const { record, log, waiting } = await withClients(options, async (c) => {
        const log = c.deliveryLog();
        const record = await log.get(tenantId, id);
        // A delivery not yet settled: what its endpoint's state does to it (text output only).
        const waiting = record && !options.json && (record.state === 'pending' || record.state === 'retrying') ? await endpointLines(c, record) : [];
        return { record, log, waiting };
      });
      if (!record) throw new CliError(notFound(id, tenantId, log));
      if (options.json) return printJson(recordView(record));
      const partial = log.mode === 'failures' ? ['', 'note: this stack records failed deliveries only (deliveryLog = failures): an earlier send of this webhook-id that succeeded at its first attempt (before a replay or resend) is not in this record'] : [];
      printLines(...describeRecord(record), ...waiting, ...partial);
    });
}

/**
 * For a delivery still under way: the subscription's state when it is not active (its job will be
 * dropped) and its endpoint's health when that holds jobs back (an open circuit, a failing or slow
 * endpoint, a rate limit): the reasons a webhook arrives late.
 */
async function endpointLines(c: Clients, record: DeliveryRecord): Promise<string[]> {
  const [subscription, health] = await Promise.all([c.store().get(record.tenantId, record.subscriptionId), healthOf(c, record.tenantId, record.subscriptionId)]);
  const lines: string[] = [];
  if (subscription === undefined) lines.push(`now: subscription ${record.subscriptionId} no longer exists; the job is dropped when it comes up`);
  else if (subscription.state !== 'active') lines.push(`now: subscription ${record.subscriptionId} is ${subscription.state}; the job is dropped when it comes up`);
  if (health !== undefined && (health.circuit !== 'closed' || health.consecutiveFailures > 0 || health.slowUntil !== null)) {
    lines.push(`now: endpoint ${healthLine(health)}${health.circuit === 'open' ? ' (jobs wait; one probe per interval)' : ''}`);
  }
  if (subscription?.maxRequestsPerSecond !== undefined) lines.push(`now: rate limit ${subscription.maxRequestsPerSecond} requests per second (a job over it waits, not an attempt)`);
  return lines.length > 0 ? ['', ...lines] : [];
}

/** Why a delivery has no record, as far as the log's settings tell. */
export function notFound(deliveryId: string, tenantId: string, log: { readonly retentionDays: number; readonly mode: DeliveryLogMode }): string {
  if (log.mode === 'failures') {
    return `no delivery ${deliveryId} for tenant ${tenantId} in the delivery log: this stack records failed deliveries only (deliveryLog = failures), so it was delivered at its first attempt, is still queued, was never queued, or is older than the retention of ${log.retentionDays} days`;
  }
  return `no delivery ${deliveryId} for tenant ${tenantId} in the delivery log (never queued, or older than the retention of ${log.retentionDays} days)`;
}

/** The text form of `get`: the record, the body, then one block per attempt. */
export function describeRecord(r: DeliveryRecord): string[] {
  const entity = r.entityNumber ? `${r.entityUuid} (number ${r.entityNumber})` : r.entityUuid;
  const lines = [
    fields([
      ['delivery', r.deliveryId],
      ['tenant', r.tenantId],
      ['subscription', r.subscriptionId],
      ['event', `${r.event} (event ${r.eventId}, ${r.occurredAt})`],
      ['entity', entity],
      ['state', r.reason ? `${r.state}: ${r.reason}` : r.state],
      ['url', r.url ?? '-'],
      ['created', r.createdAt],
      ['updated', r.updatedAt],
      ...(r.queuedBy !== undefined ? [['replayed by', `${r.queuedBy} (the last replay that queued it again)`] as [string, string]] : []),
      ['expires', r.expiresAt ? new Date(r.expiresAt * 1000).toISOString() : '-'],
    ]),
    '',
    'body:',
    `  ${r.body}`,
    '',
  ];
  if (r.attempts.length === 0) lines.push('no attempts yet');
  r.attempts.forEach((a, i) => {
    // Attempts count again from 1 when the delivery was queued again (same webhook-id): say so, and
    // by what, so two "attempt 1" lines read as the two sends they were.
    if (i > 0 && a.attempt <= r.attempts[i - 1]!.attempt) lines.push(`-- ${requeuedLine(requeueBefore(r, i))}; attempts count from 1 again`);
    lines.push(...describeAttempt(a));
  });
  const waiting = waitingRequeue(r);
  if (waiting !== undefined && r.attempts.length > 0) lines.push(`-- queued again by ${requeueWords(waiting)}: no attempt since`);
  return lines;
}

/** The line that marks where a delivery was queued again, with what did it when that is recorded. */
export function requeuedLine(requeue: RequeueRecord | undefined): string {
  return `queued again here ${requeue ? `by ${requeueWords(requeue)}` : '(a resend, a redrive or a replay)'}: same body, same webhook-id`;
}

function describeAttempt(a: AttemptRecord): string[] {
  const result = a.statusCode !== null ? `HTTP ${a.statusCode}` : (a.error ?? 'no response');
  const lines = [`attempt ${a.attempt}  ${a.at}  ${result}  ${a.durationMs} ms${a.lane ? `  (${a.lane} lane)` : ''}`];
  if (a.response !== null) lines.push(...a.response.split(/\r?\n/).map((line) => `  | ${line}`));
  return lines;
}

/**
 * Queues a delivery again with the same body and webhook-id (attempts start again), for an active
 * subscription: `deliveries resend` and the console's Resend button.
 */
export async function resendIn(c: Clients, tenantId: string, id: string): Promise<{ record: DeliveryRecord; queuedAt: string; markError: string | undefined }> {
  const log = c.deliveryLog();
  const record = await log.get(tenantId, id);
  if (!record) throw new CliError(notFound(id, tenantId, log));
  const subscription = await c.store().get(tenantId, record.subscriptionId);
  if (!subscription) throw new CliError(`not resent: subscription ${record.subscriptionId} of tenant ${tenantId} no longer exists`);
  if (subscription.state !== 'active') {
    throw new CliError(`not resent: subscription ${record.subscriptionId} of tenant ${tenantId} is ${subscription.state}${subscription.disabledReason ? ` (${subscription.disabledReason})` : ''}; resume it first`);
  }
  const now = new Date();
  const job: DeliveryJob = {
    v: 1,
    deliveryId: record.deliveryId,
    eventId: record.eventId,
    event: record.event,
    tenantId,
    subscriptionId: record.subscriptionId,
    body: record.body,
    occurredAt: record.occurredAt,
    attempts: 0,
    queuedAt: now.toISOString(),
    // It has a record (it was read above): every outcome updates it, whatever the log mode.
    recorded: true,
  };
  // The record says `pending` before the job is queued, so the attempt's own write comes
  // after it (attempts stay). A failure to mark does not stop the resend.
  let marked: string | undefined;
  try {
    await log.mark(tenantId, id, 'pending', undefined, now, 'resend');
  } catch (error) {
    marked = (error as Error).message;
  }
  try {
    await new SqsJobQueue(c.sqs, outputOf(c.target, 'DeliveryQueueUrl'), { retries: DEFAULTS.sendBatchRetries }).sendJob(job, 0);
  } catch (error) {
    // Not queued: the record goes back to what it said.
    if (marked === undefined) await log.mark(tenantId, id, record.state, record.reason, new Date()).catch(() => false);
    throw error;
  }
  return { record, queuedAt: now.toISOString(), markError: marked };
}

function registerResend(deliveries: Command): void {
  withTargetOptions(
    deliveries
      .command('resend')
      .argument('<deliveryId>', 'the delivery id (webhook-id) to send again')
      .description('queue the same body again with the same webhook-id (attempts start again), for an active subscription')
      .requiredOption('--tenant <id>', 'tenant id'),
  )
    .addHelpText('after', '\nExample:\n  statushooks deliveries resend msg_6f1c2a9e0b7d4e3f8a5b1c2d3e4f5a6b --tenant acme-shop')
    .action(async (deliveryId: string, options: TenantOptions) => {
      targetKind(options);
      const tenantId = parseTenant('--tenant', options.tenant);
      const id = nonEmpty('<deliveryId>', deliveryId);
      const result = await withClients(options, (c) => resendIn(c, tenantId, id));
      if (result.markError) process.stderr.write(`warning: queued, but the delivery-log record could not be marked pending: ${result.markError}\n`);
      if (options.json) return printJson({ deliveryId: id, tenantId, subscriptionId: result.record.subscriptionId, queuedAt: result.queuedAt, previousState: result.record.state, previousAttempts: result.record.attempts.length });
      printLines(`queued delivery ${id} again for subscription ${result.record.subscriptionId} (was ${result.record.state} after ${plural(result.record.attempts.length, 'attempt')}); same body, same webhook-id`);
    });
}
