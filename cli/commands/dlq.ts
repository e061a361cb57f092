import { Option, type Command } from 'commander';
import { FILTERED_SCAN_MAX, LIST_VISIBILITY_SECONDS, listParkedEvents, listParkedJobs, parkedSelection, type Listing } from '../dlq-queue';
import { fanOutTarget, REDRIVE_VISIBILITY_SECONDS, redriveDeliveryDlq, redriveFanOutDlq, subscriptionStates, type RedriveReport, type RedriveSelection } from '../redrive';
import { UsageError } from '../cli-errors';
import { discardParked, type DiscardCandidate, type DiscardReport, type DiscardSelection } from '../discard';
import { nonEmpty, parseTenant, positiveInt } from '../inputs';
import { truncateText } from '../../lambdas/core/text';
import { errorMessage } from '../../lambdas/core/errors';
import type { DynamoDeliveryLog } from '../../lambdas/adapters/delivery-log-store';
import { formatAge, printJson, printLines, table } from '../output';
import { withClients, withTargetOptions, type JsonOption } from '../run';
import { outputOf, sourcesOf, targetKind, type Clients, type TargetOptions } from '../target';
import { plural } from '../../lambdas/core/text';

export type Queue = 'delivery' | 'fan-out';
type Options = TargetOptions & JsonOption & { queue: Queue };

const queueOption = () => new Option('--queue <queue>', 'which dead-letter queue').choices(['delivery', 'fan-out']).default('delivery');

/** Held messages that could not be released stay hidden until the visibility they were received with ends. */
function releaseWarning(unreleased: number, holdSeconds: number): void {
  if (unreleased > 0) process.stderr.write(`warning: ${unreleased} message(s) could not be made visible again; they reappear by themselves within ${holdSeconds}s\n`);
}

/** What a fan-out redrive queued for one event. */
function queuedJobs(deliveryIds: readonly string[] | undefined): string {
  if (deliveryIds === undefined) return '';
  if (deliveryIds.length === 0) return ' → no active subscription matches: nothing queued';
  return ` → ${plural(deliveryIds.length, 'delivery job')} queued: ${deliveryIds.join(', ')}`;
}

export function printRedrive(queue: Queue, report: RedriveReport): void {
  printLines(...redriveLines(queue, report));
}

/** Said of a redrive or discard whose scan did not reach the end of the queue. */
const SCAN_STOPPED = 'the scan stopped early: run again for more';

/** The text of a redrive report: what moved, what stayed and why, what is left. */
export function redriveLines(queue: Queue, report: RedriveReport): string[] {
  const verb = report.dryRun ? 'would move' : 'moved';
  const target = queue === 'delivery' ? 'to the delivery queue' : 'through fan-out to the delivery queue (original event ids)';
  const noun = queue === 'delivery' ? 'job' : 'event';
  const lines = [`${verb} ${plural(report.moved.length, noun)} from the ${queue} DLQ ${target}`];
  for (const m of report.moved) {
    lines.push(`  ${m.id ?? m.messageId}  tenant ${m.tenantId ?? '-'}${m.subscriptionId ? `  ${m.subscriptionId}` : ''}${queuedJobs(m.deliveryIds)}`);
  }
  for (const s of report.skipped) lines.push(`skipped ${s.id ?? s.messageId}: ${s.reason}`);
  for (const f of report.failed) lines.push(`failed ${f.id ?? f.messageId}: ${f.reason} (left parked)`);
  for (const n of report.notDeleted) lines.push(`warning: ${n.id ?? n.messageId} was sent but could not be deleted from the DLQ (${n.reason}); it stays there too`);
  const left = report.remaining === null ? `${report.notSelected + report.skipped.length + report.failed.length} seen and` : `${report.remaining}`;
  lines.push(`${left} left in the ${queue} DLQ${report.scanComplete ? '' : ` (${SCAN_STOPPED})`}`);
  return lines;
}

/** Columns every parked message has, after the ones that identify it. */
interface ParkedCommon {
  readonly attempts: number | null;
  readonly ageSeconds?: number | null;
  readonly reason: string;
}

function printListing<V extends ParkedCommon>(options: ListOptions, key: 'jobs' | 'events', listing: Listing<V>, idColumns: string[], ids: (item: V) => string[]): void {
  releaseWarning(listing.unreleased, LIST_VISIBILITY_SECONDS);
  const filter = filterWords(options);
  if (options.json) {
    const scan = listing.scanned === undefined ? {} : { scanned: listing.scanned, scanComplete: listing.scanComplete };
    return printJson({ queue: options.queue, total: listing.total, ...scan, [key]: listing.items });
  }
  // With a filter: how much of the queue was read, so "nothing for this tenant" is not mistaken for "nothing parked".
  const read =
    listing.scanned === undefined
      ? ''
      : `${plural(listing.scanned, 'message')} read${listing.total !== null ? ` of about ${listing.total} in the queue` : ''}${listing.scanComplete ? '' : listing.items.length >= options.limit ? '; --limit reached, there may be more' : `; the scan stopped before the end of the queue (it reads at most ${FILTERED_SCAN_MAX} messages, while the first ones stay hidden): there may be more`}`;
  if (listing.items.length === 0) return printLines(filter === '' || listing.scanned === 0 ? `the ${options.queue} DLQ is empty` : `nothing parked in the ${options.queue} DLQ for ${filter} (${read})`);
  printLines(
    table(
      [...idColumns, 'ATTEMPTS', 'AGE', 'REASON'],
      listing.items.map((item) => [...ids(item), item.attempts === null ? '-' : String(item.attempts), formatAge(item.ageSeconds ?? undefined), truncateText(item.reason, 120)]),
    ),
    filter === ''
      ? `${listing.items.length} shown${listing.total !== null && listing.total > listing.items.length ? ` of ${listing.total}` : ''}`
      : `${listing.items.length} shown for ${filter} (${read})`,
  );
}

/** --tenant and --subscription of `dlq list` and `dlq redrive`, checked (the fan-out DLQ holds events, not jobs). */
function messageFilter(options: Options & { tenant?: string; subscription?: string }): { tenant?: string; subscription?: string } {
  const tenant = options.tenant === undefined ? undefined : parseTenant('--tenant', options.tenant);
  const subscription = options.subscription === undefined ? undefined : nonEmpty('--subscription', options.subscription);
  if (options.queue === 'fan-out' && subscription !== undefined) {
    throw new UsageError('--subscription applies to the delivery DLQ only: fan-out DLQ messages are events, not yet per subscription');
  }
  return { tenant, subscription };
}

/** `tenant acme-shop, subscription sub_1`: the filters given, for messages. */
function filterWords(options: ListOptions): string {
  return [options.tenant !== undefined ? `tenant ${options.tenant}` : '', options.subscription !== undefined ? `subscription ${options.subscription}` : ''].filter(Boolean).join(', ');
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('inspect and redrive the dead-letter queues (parked delivery jobs, events fan-out could not handle)');
  registerList(dlq);
  registerRedrive(dlq);
  registerDiscard(dlq);
}

/** `dlq list`. */
function registerList(dlq: Command): void {
  withTargetOptions(
    dlq
      .command('list')
      .description('show what is parked, without consuming it (messages are read and made visible again)')
      .addOption(queueOption())
      .option('--limit <n>', 'show at most n messages', positiveInt, 100)
      .option('--tenant <id>', "only this tenant's messages")
      .option('--subscription <id>', "only this subscription's jobs (delivery queue only)"),
  )
    .addHelpText(
      'after',
      `\nWith --tenant or --subscription the scan reads on (at most ${FILTERED_SCAN_MAX}\nmessages) until --limit messages match.\n\nExamples:\n  statushooks dlq list\n  statushooks dlq list --tenant acme-shop\n  statushooks dlq list --queue fan-out --json`,
    )
    .action(listDlq);
}

type ListOptions = Options & { limit: number; tenant?: string; subscription?: string };

async function listDlq(options: ListOptions): Promise<void> {
  targetKind(options);
  const now = new Date();
  const select = parkedSelection(messageFilter(options));
  if (options.queue === 'delivery') {
    const listing = await withClients(options, (c) => listParkedJobs(c.sqs, outputOf(c.target, 'DeliveryDlqUrl'), options.limit, now, select));
    return printListing(options, 'jobs', listing, ['DELIVERY ID', 'TENANT', 'SUBSCRIPTION', 'EVENT'], (j) => [
      j.deliveryId ?? `(message ${j.messageId})`,
      j.tenantId ?? '-',
      j.subscriptionId ?? '-',
      j.event ?? '-',
    ]);
  }
  const listing = await withClients(options, (c) => listParkedEvents(c.sqs, outputOf(c.target, 'FanOutDlqUrl'), options.limit, now, select));
  return printListing(options, 'events', listing, ['EVENT ID', 'TENANT', 'DETAIL-TYPE', 'KIND'], (e) => [e.eventId ?? `(message ${e.messageId})`, e.tenantId ?? '-', e.detailType ?? '-', e.kind]);
}

/** `dlq redrive`. */
function registerRedrive(dlq: Command): void {
  withTargetOptions(
    dlq
      .command('redrive')
      .description('move parked messages back: jobs to the delivery queue (same delivery id, attempts start again), events through fan-out again (original event id, so the same delivery ids)')
      .addOption(queueOption())
      .option('--tenant <id>', "only this tenant's messages")
      .option('--subscription <id>', "only this subscription's jobs (delivery queue only)")
      .option('--id <id...>', 'only these messages: message ids, or delivery ids (delivery DLQ) / event ids (fan-out DLQ), as `dlq list` shows them')
      .option('--max <n>', 'move at most n messages', positiveInt)
      .option('--include-rejected', 'fan-out queue: also retry events fan-out rejected as invalid, if the current validator accepts them now (the others stay parked)')
      .option('--force', 'delivery queue: also move jobs whose subscription is paused, disabled or deleted (they are skipped otherwise)')
      .option('--dry-run', 'show what would move; move nothing'),
  )
    .addHelpText(
      'after',
      [
        '',
        'A message leaves the DLQ only after the delivery queue accepted it; messages',
        'not selected stay parked. Fan-out redrive runs each event through the same',
        'fan-out code as the function, with its original event id: its jobs get the',
        'same delivery ids (webhook-id) as the first time, so receivers that already',
        'got some of them dedupe. An event the current validator refuses stays parked.',
        'A job whose subscription is not active stays parked, with a warning naming',
        'the subscription and its state (exit 1 if nothing moved), unless --force.',
        '',
        'Examples:',
        '  statushooks dlq redrive --subscription sub_8f14e45fceea167a5a36dedd --tenant acme-shop',
        '  statushooks dlq redrive --tenant acme-shop --max 100 --dry-run',
        '  statushooks dlq redrive --queue fan-out',
      ].join('\n'),
    )
    .action(redriveDlq);
}

type RedriveOptions = Options & { tenant?: string; subscription?: string; id?: string[]; max?: number; includeRejected?: boolean; dryRun?: boolean; force?: boolean };

async function redriveDlq(options: RedriveOptions): Promise<void> {
  targetKind(options);
  const { tenant, subscription } = messageFilter(options);
  if (options.queue === 'delivery' && options.includeRejected) throw new UsageError('--include-rejected applies to --queue fan-out only');
  if (options.queue === 'fan-out' && options.force) throw new UsageError('--force applies to --queue delivery only: fan-out redrive queues jobs for active subscriptions only');
  const ids = options.id?.map((id) => nonEmpty('--id', id));
  const selection = { tenant, subscription, ids, max: options.max, dryRun: options.dryRun, includeRejected: options.includeRejected, force: options.force };
  const report = await withClients(options, (c) => redriveIn(c, options.queue, selection));
  for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
  releaseWarning(report.unreleased, REDRIVE_VISIBILITY_SECONDS);
  if (options.json) printJson({ queue: options.queue, ...report });
  else printRedrive(options.queue, report);
  // Refused by the target, or nothing moved because every selected job's subscription is not active.
  if (report.failed.length > 0 || (report.moved.length === 0 && report.inactive > 0)) process.exitCode = 1;
}

/** Moves the selected messages of a DLQ back (`dlq redrive`, the console's Redrive button). */
export function redriveIn(c: Clients, queue: Queue, selection: RedriveSelection): Promise<RedriveReport> {
  return queue === 'delivery'
    ? redriveDeliveryDlq(
        c.sqs,
        outputOf(c.target, 'DeliveryDlqUrl'),
        outputOf(c.target, 'DeliveryQueueUrl'),
        selection,
        new Date(),
        subscriptionStates(c.db, outputOf(c.target, 'SubscriptionsTableName')),
        c.target.outputs.DeliveryLogTableName ? c.deliveryLog() : undefined,
      )
    : redriveFanOutDlq(
        c.sqs,
        outputOf(c.target, 'FanOutDlqUrl'),
        fanOutTarget(c.sqs, c.db, c.eventBridge, outputOf(c.target, 'SubscriptionsTableName'), outputOf(c.target, 'DeliveryQueueUrl'), c.target.outputs.DeliveryLogTableName ? c.deliveryLog() : undefined, sourcesOf(c.target)),
        selection,
      );
}

/** `dlq discard`. */
function registerDiscard(dlq: Command): void {
  withTargetOptions(
    dlq
      .command('discard')
      .description('delete parked messages an operator judged hopeless, after showing them and asking (or --yes)')
      .addOption(queueOption())
      .option('--id <id...>', 'message ids, or delivery ids (delivery DLQ) / event ids (fan-out DLQ), as `dlq list` shows them')
      .option('--all', 'every message of the queue')
      .option('--yes', 'do not ask (needed when stdin is not a terminal)'),
  )
    .addHelpText(
      'after',
      [
        '',
        'Shows what will be deleted and asks; only "yes" deletes. Everything else stays',
        'parked. Deleted messages are gone for good (redrive brings back what is',
        'worth another try).',
        '',
        'Examples:',
        '  statushooks dlq discard --id msg_35c4a658d12431c3a16d3e2e581080a5',
        '  statushooks dlq discard --queue fan-out --all --yes',
      ].join('\n'),
    )
    .action(discardDlq);
}

type DiscardOptions = Options & { id?: string[]; all?: boolean; yes?: boolean };

async function discardDlq(options: DiscardOptions): Promise<void> {
  targetKind(options);
  const ids = options.id?.map((id) => nonEmpty('--id', id));
  if ((ids === undefined) === (options.all !== true)) throw new UsageError('give either --id <id>... or --all');
  // Decided before anything is read: without a terminal there is nobody to ask.
  if (!options.yes && !process.stdin.isTTY) throw new UsageError('nobody to confirm (stdin is not a terminal): pass --yes to discard without asking');
  const warn = (line: string) => process.stderr.write(`warning: ${line}\n`);
  const { report, logMarked } = await withClients(options, (c) => discardIn(c, options.queue, { ids, all: options.all }, (candidates) => confirmDiscard(options, candidates), warn));
  for (const line of discardWarnings(options.queue, report)) process.stderr.write(`warning: ${line}\n`);
  releaseWarning(report.unreleased, REDRIVE_VISIBILITY_SECONDS);
  if (options.json) printJson({ queue: options.queue, ...report, ...(options.queue === 'delivery' ? { logMarked } : {}) });
  else printDiscard(options.queue, report, logMarked);
  if (report.failed.length > 0 || report.discarded.length === 0) process.exitCode = 1;
}

/**
 * Deletes the selected parked messages once `confirm` says yes (`dlq discard`, the console's
 * Discard button) and marks discarded deliveries so in the delivery log.
 */
export async function discardIn(
  c: Clients,
  queue: Queue,
  selection: DiscardSelection,
  confirm: (candidates: readonly DiscardCandidate[]) => Promise<boolean>,
  warn: (line: string) => void,
): Promise<{ report: DiscardReport; logMarked: number }> {
  const output = queue === 'delivery' ? 'DeliveryDlqUrl' : 'FanOutDlqUrl';
  const report = await discardParked(c.sqs, outputOf(c.target, output), queue, selection, confirm);
  const logMarked = queue === 'delivery' && c.target.outputs.DeliveryLogTableName ? await markDiscarded(c.deliveryLog(), report.discarded, warn) : 0;
  return { report, logMarked };
}

/**
 * Marks each discarded delivery `discarded` in the delivery log (with who and when). The discard
 * itself stands whatever happens here: a failure is a warning, a record already gone (expired, or
 * never logged) is nothing to mark. Returns how many records were marked.
 */
async function markDiscarded(log: DynamoDeliveryLog, discarded: readonly DiscardCandidate[], warn: (line: string) => void): Promise<number> {
  const now = new Date();
  const results = await Promise.all(
    discarded.map(async (c) => {
      if (c.id === null || c.tenantId === null) return false;
      try {
        return await log.mark(c.tenantId, c.id, 'discarded', `discarded by an operator on ${now.toISOString()}`, now);
      } catch (error) {
        warn(`${c.id} was discarded, but its delivery-log record could not be marked discarded: ${errorMessage(error)}`);
        return false;
      }
    }),
  );
  return results.filter(Boolean).length;
}

function candidateLines(candidates: readonly DiscardCandidate[]): string[] {
  return candidates.map((c) => `  ${c.id ?? `(message ${c.messageId})`}  tenant ${c.tenantId ?? '-'}  ${c.what ?? '-'}  ${truncateText(c.reason, 100)}`);
}

async function confirmDiscard(options: DiscardOptions, candidates: readonly DiscardCandidate[]): Promise<boolean> {
  if (options.yes) return true;
  process.stderr.write([`about to discard ${candidates.length} message(s) from the ${options.queue} DLQ for good:`, ...candidateLines(candidates), ''].join('\n'));
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question('type "yes" to discard them: ')).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

function printDiscard(queue: Queue, report: DiscardReport, logMarked: number): void {
  printLines(...discardLines(queue, report, logMarked));
}

/** The text of a discard report. */
export function discardLines(queue: Queue, report: DiscardReport, logMarked: number): string[] {
  const lines = report.cancelled
    ? [`cancelled: nothing discarded from the ${queue} DLQ`]
    : [`discarded ${plural(report.discarded.length, 'message')} from the ${queue} DLQ`, ...candidateLines(report.discarded)];
  if (!report.cancelled && queue === 'delivery' && report.discarded.length > 0) lines.push(`${plural(logMarked, 'delivery-log record')} marked discarded`);
  for (const f of report.failed) lines.push(`failed ${f.id ?? f.messageId}: ${f.reason} (still parked)`);
  if (report.remaining !== null) lines.push(`${report.remaining} left in the ${queue} DLQ${report.scanComplete ? '' : ` (${SCAN_STOPPED})`}`);
  else if (!report.scanComplete) lines.push(SCAN_STOPPED);
  return lines;
}

/** What a discard warns of: ids it did not find, and whether that is because its scan stopped early. */
export function discardWarnings(queue: Queue, report: DiscardReport): string[] {
  return report.notFound.map((id) =>
    report.scanComplete ? `${id} is not in the ${queue} DLQ` : `${id} was not found in the part of the ${queue} DLQ read (the scan stopped early: run again to look further)`,
  );
}
