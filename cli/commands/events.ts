import { randomBytes } from 'node:crypto';
import { DescribeReplayCommand, StartReplayCommand } from '@aws-sdk/client-eventbridge';
import type { Command } from 'commander';
import { DEFAULTS } from '../../lambdas/core/config';
import { InvalidEventError } from '../../lambdas/core/errors';
import { entityKeyOf } from '../../lambdas/core/catalog';
import { exampleDetail, parseDetail } from '../../lambdas/core/events';
import { MAX_REPLAY_DESCRIPTION, newReplayName, replayDescription, type ReplayFilter } from '../../lambdas/core/replay';
import { CliError, UsageError } from '../cli-errors';
import { putEvents } from '../put-events';
import { nonEmpty, parseEventName, parseSince, parseTenant, readInput } from '../inputs';
import { printJson, printLines, table } from '../output';
import { withClients, withTargetOptions, type JsonOption } from '../run';
import { outputOf, sourcesOf, targetKind, type Clients, type Target, type TargetOptions } from '../target';

interface SendOptions extends TargetOptions, JsonOption {
  type: string;
  source: string;
  file?: string;
  tenant?: string;
  old?: string;
  new?: string;
  uuid?: string;
  number?: string;
  externalId?: string;
}

/** The event `events send` builds: type, source and detail, from the options (or the console's form fields). */
export type SendFields = Pick<SendOptions, 'type' | 'source' | 'file' | 'tenant' | 'old' | 'new' | 'uuid' | 'number' | 'externalId'>;

function detailFromOptions(options: SendFields): Record<string, unknown> {
  const fieldOptions = { tenant: options.tenant, old: options.old, new: options.new, uuid: options.uuid, number: options.number, 'external-id': options.externalId };
  const given = Object.entries(fieldOptions).filter(([, v]) => v !== undefined);
  const type = parseEventName('--type', options.type);
  if (options.file !== undefined) {
    if (given.length > 0) throw new UsageError(`--file replaces the field options; drop ${given.map(([k]) => `--${k}`).join(', ')}`);
    const text = readInput('--file', options.file);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--file ${options.file} is not JSON: ${(error as Error).message}`);
    }
  }
  const missing = (['tenant', 'old', 'new', 'uuid'] as const).filter((k) => options[k] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(', ')} (or give the whole detail with --file)`);
  return {
    tenantId: options.tenant,
    oldStatus: options.old,
    newStatus: options.new,
    [entityKeyOf(type)]: { number: options.number ?? null, uuid: options.uuid, externalId: options.externalId ?? null },
  };
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('put status-change events on the bus; print example details; list operational events');
  registerSend(events);
  registerExample(events);
  registerOperational(events);
  registerReplay(events);
}

/** `events operational`. */
function registerOperational(events: Command): void {
  withTargetOptions(
    events
      .command('operational')
      .description('list the operational events of the stack: endpoints failing and recovered, subscriptions disabled (kept 30 days)')
      .option('--since <time>', 'how far back: a duration (30m, 24h, 7d; at most 30d) or an ISO time', '24h'),
  )
    .addHelpText('after', '\nExamples:\n  statushooks events operational --since 1h\n  statushooks events operational --since 2026-12-01T00:00:00Z --json')
    .action(async (options: TargetOptions & JsonOption & { since: string }) => {
      targetKind(options);
      const now = Date.now();
      const since = parseSince('--since', options.since, now);
      const listed = await withClients(options, (c) => c.operationalEvents().list(since, now));
      if (options.json) return printJson({ events: listed.map(({ detailType, time, detail }) => ({ detailType, time, detail })) });
      if (listed.length === 0) return printLines(`no operational events since ${new Date(since).toISOString()}`);
      printLines(
        table(
          ['TIME', 'EVENT', 'TENANT', 'SUBSCRIPTION', 'SINCE', 'URL', 'REASON'],
          listed.map((e) => [e.time, e.detailType.replace(/^statushooks\./, ''), e.detail.tenantId, e.detail.subscriptionId, e.detail.since, e.detail.url, e.detail.reason]),
        ),
      );
    });
}

/** `events send`. */
function registerSend(events: Command): void {
  withTargetOptions(
    events
      .command('send')
      .description('validate a status-change event as fan-out will, then put it on the bus (PutEvents); prints the event id')
      .requiredOption('--type <event>', 'event name (detail-type), e.g. return_order.status.changed')
      .option('--tenant <id>', 'detail.tenantId')
      .option('--old <status>', 'detail.oldStatus')
      .option('--new <status>', 'detail.newStatus')
      .option('--uuid <uuid>', "the entity's uuid")
      .option('--number <number>', "the entity's number")
      .option('--external-id <id>', "the entity's externalId")
      .option('--file <file>', 'the whole detail as JSON (- for stdin), e.g. the output of `events example`, instead of the field options')
      .option('--source <source>', 'EventBridge source', DEFAULTS.sources[0]),
  )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  statushooks events send --type return_order.status.changed --tenant acme-shop --old approved --new option_selected --uuid 90aabf83-d23c-4792-b483-2546b8041379 --number 100004',
        '  statushooks events example sales_order.status.changed > detail.json && statushooks events send --type sales_order.status.changed --file detail.json',
      ].join('\n'),
    )
    .action(sendEvent);
}

/** An event checked as fan-out will check it, ready to put on the bus. */
export interface CheckedEvent {
  readonly type: string;
  readonly source: string;
  readonly detail: Record<string, unknown>;
}

/** Builds and validates the event (UsageError with fan-out's own words when it is invalid). */
export function checkEvent(options: SendFields): CheckedEvent {
  const detail = detailFromOptions(options);
  const source = nonEmpty('--source', options.source);
  try {
    parseDetail(options.type, detail);
  } catch (error) {
    if (error instanceof InvalidEventError) throw new UsageError(`${options.file !== undefined ? `--file ${options.file}: ` : ''}${error.message}`);
    throw error;
  }
  return { type: options.type, source, detail };
}

/**
 * Why the target will not deliver an event of `source`, or undefined: the sources it says it
 * accepts (output `EventSources`), else the default ones (a stack deployed before that output).
 */
export function sourceWarning(source: string, target: Target): string | undefined {
  const deployed = sourcesOf(target);
  const accepted = deployed ?? DEFAULTS.sources;
  if (accepted.includes(source)) return undefined;
  const listed = accepted.map((s) => `"${s}"`).join(', ');
  const which = deployed !== undefined ? `the target accepts only ${listed}` : `the default sources are ${listed}`;
  return `source "${source}" is not one this target fans out (${which}): the event will not be delivered; fan-out parks it as of an unknown source (statushooks dlq list --queue fan-out)`;
}

/** Puts a checked event on the target's bus (PutEvents); returns its event id and what it warned of. */
export async function sendEventIn(c: Clients, event: CheckedEvent): Promise<{ eventId: string; eventBusName: string; warnings: string[] }> {
  const bus = outputOf(c.target, 'EventBusName');
  const warning = sourceWarning(event.source, c.target);
  const [result] = await putEvents(c.eventBridge, [{ EventBusName: bus, Source: event.source, DetailType: event.type, Detail: JSON.stringify(event.detail) }]);
  if (!result?.ok) throw new CliError(`PutEvents did not accept the event: ${result?.error ?? 'no result'}`);
  return { eventId: result.eventId, eventBusName: bus, warnings: warning === undefined ? [] : [warning] };
}

async function sendEvent(options: SendOptions): Promise<void> {
  targetKind(options);
  const event = checkEvent(options);
  const { detail, source } = event;
  const { warnings, ...sent } = await withClients(options, (c) => sendEventIn(c, event));
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  if (options.json) return printJson({ ...sent, detailType: options.type, source, tenantId: detail.tenantId });
  printLines(sent.eventId);
}

/** `events example`. */
function registerExample(events: Command): void {
  events
    .command('example')
    .description('print an example detail for an event (valid input for `events send --file`)')
    .argument('<event>', 'event name')
    .option('--tenant <id>', 'tenantId to put in the example', 'acme-shop')
    .option('--json', 'the output is JSON either way')
    .addHelpText('after', '\nExample:\n  statushooks events example return_order.status.changed --tenant acme-shop')
    .action((event: string, options: { tenant: string }) => {
      printJson(exampleDetail(parseEventName('<event>', event), parseTenant('--tenant', options.tenant)));
    });
}

interface ReplayOptions extends TargetOptions, JsonOption {
  since: string;
  until?: string;
  tenant?: string;
  subscription?: string;
  event?: string;
  wait?: boolean;
}

/** How often `--wait` asks for progress: the local runtime replays in moments, EventBridge in minutes. */
const REPLAY_POLL_MS = { local: 500, stack: 10_000 } as const;

/** `events replay`. */
function registerReplay(events: Command): void {
  withTargetOptions(
    events
      .command('replay')
      .description("replay the archive's events of a time window through fan-out (EventBridge StartReplay); events keep their ids, so deliveries keep their webhook-ids")
      .requiredOption('--since <time>', 'start of the window: a duration back from now (30m, 24h, 7d) or an ISO time')
      .option('--until <time>', 'end of the window (exclusive): a duration back from now or an ISO time; default now')
      .option('--tenant <id>', "only this tenant's events")
      .option('--subscription <id>', 'queue them for this subscription of the tenant only (with --tenant)')
      .option('--event <name>', 'only events of this type, e.g. return_order.status.changed')
      .option('--wait', 'print progress until the replay completes (exit 1 if it fails or is cancelled)'),
  )
    .addHelpText(
      'after',
      [
        '',
        'On a deployed stack the archive receives events some minutes after they were',
        'put on the bus, and a replay takes minutes to start: a window ending in the',
        'last minutes may miss events. Receivers that dedupe by webhook-id see replayed',
        'deliveries as repeats. With --subscription only that subscription gets them',
        "(what it missed while paused or disabled); the tenant's others get nothing.",
        '',
        'Examples:',
        '  statushooks events replay --since 2026-12-03T10:00:00Z --until 2026-12-03T11:00:00Z --tenant acme-shop --wait',
        '  statushooks events replay --since 2d --tenant acme-shop --subscription sub_5ddc88da8e8fc213efd404ec',
        '  statushooks events replay --since 2h --event sales_order.status.changed --json',
      ].join('\n'),
    )
    .action(replayEvents);
}

/** A replay asked for: its window (ms, end exclusive) and statushooks' own filter. */
export interface ReplayRequest {
  readonly since: number;
  readonly until: number;
  readonly filter: ReplayFilter;
}

/**
 * Checks the options of a replay (`events replay`, the console's "Replay what it missed") before
 * anything is read: the window, and a filter its description can carry. Throws UsageError.
 */
export function replayRequest(options: { since: string; until?: string; tenant?: string; subscription?: string; event?: string }, now: number): ReplayRequest {
  const since = parseSince('--since', options.since, now);
  const until = options.until === undefined ? now : parseSince('--until', options.until, now);
  if (until <= since) throw new UsageError(`--until (${new Date(until).toISOString()}) must be after --since (${new Date(since).toISOString()})`);
  if (options.subscription !== undefined && options.tenant === undefined) throw new UsageError('--subscription needs --tenant: a subscription belongs to one tenant');
  const filter = {
    ...(options.tenant !== undefined ? { tenantId: parseTenant('--tenant', options.tenant) } : {}),
    ...(options.subscription !== undefined ? { subscriptionId: nonEmpty('--subscription', options.subscription) } : {}),
    ...(options.event !== undefined ? { event: parseEventName('--event', options.event) } : {}),
  };
  const description = replayDescription(filter);
  if (description.length > MAX_REPLAY_DESCRIPTION) {
    throw new UsageError(`--tenant${filter.subscriptionId !== undefined ? ' and --subscription are' : ' is'} too long to carry in the replay's description (${description.length} of ${MAX_REPLAY_DESCRIPTION} characters)`);
  }
  return { since, until, filter };
}

/** A replay started: its name, EventBridge's state, and what it covers in words. */
export interface StartedReplay {
  readonly name: string;
  readonly state: string;
  /** `2026-12-05T03:07:10.428Z – 2026-12-05T03:22:10.428Z` */
  readonly window: string;
  /** `tenant acme-shop, subscription sub_… only, every event type` */
  readonly scope: string;
}

/**
 * Starts a replay on the target, after checking it against the target: a filter its fan-out would
 * not apply, or a subscription the tenant does not have, is refused (CliError). `warn` hears what
 * it queues nothing for (a subscription that is not active, a tenant without subscriptions).
 */
export async function startReplayIn(c: Clients, request: ReplayRequest, now: number, warn: (line: string) => void): Promise<StartedReplay> {
  const { since, until, filter } = request;
  const name = newReplayName(new Date(now), randomBytes(3).toString('hex'));
  // A stack whose fan-out predates a filter would replay more than was asked: refused.
  if (filter.subscriptionId !== undefined && !(c.target.outputs.ReplayFilterKeys ?? '').split(',').includes('subscriptionId')) {
    throw new CliError(`${c.target.label} was deployed before replays could name a subscription: its fan-out would replay to every subscription of tenant ${filter.tenantId}. Deploy the current version first, or replay without --subscription`);
  }
  // A replay queues deliveries for active subscriptions only (fan-out's rule): say which of the
  // tenant's would take none, before the operator waits for deliveries that cannot come.
  if (filter.tenantId !== undefined) {
    const { subscriptions, invalid } = await c.store().listByTenant(filter.tenantId);
    const named = filter.subscriptionId === undefined ? subscriptions : subscriptions.filter((s) => s.subscriptionId === filter.subscriptionId);
    if (filter.subscriptionId !== undefined && named.length === 0) {
      const broken = invalid.find((s) => s.subscriptionId === filter.subscriptionId);
      throw new CliError(
        broken
          ? `subscription ${filter.subscriptionId} of tenant ${filter.tenantId} breaks the schema (${broken.reason}): fan-out skips it; fix the item first. Nothing replayed`
          : `tenant ${filter.tenantId} has no subscription ${filter.subscriptionId} (statushooks subscriptions list --tenant ${filter.tenantId}); nothing replayed`,
      );
    }
    for (const s of named.filter((x) => x.state !== 'active')) {
      warn(`subscription ${s.subscriptionId} of tenant ${filter.tenantId} is ${s.state}: this replay queues no deliveries for it (resume it first if it should get them)`);
    }
    if (subscriptions.length === 0) warn(`tenant ${filter.tenantId} has no subscriptions: this replay queues nothing`);
  }
  const started = await c.eventBridge.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: replayDescription(filter),
      EventSourceArn: outputOf(c.target, 'ArchiveArn'),
      EventStartTime: new Date(since),
      EventEndTime: new Date(until),
      Destination: { Arn: outputOf(c.target, 'EventBusArn'), FilterArns: [outputOf(c.target, 'FanOutRuleArn')] },
    }),
  );
  return {
    name,
    state: started.State ?? 'STARTING',
    window: `${new Date(since).toISOString()} – ${new Date(until).toISOString()}`,
    scope: [
      filter.tenantId ? `tenant ${filter.tenantId}` : 'every tenant',
      ...(filter.subscriptionId !== undefined ? [`subscription ${filter.subscriptionId} only`] : []),
      filter.event ?? 'every event type',
    ].join(', '),
  };
}

async function replayEvents(options: ReplayOptions): Promise<void> {
  const kind = targetKind(options);
  const now = Date.now();
  const { since, until, filter } = replayRequest(options, now);
  await withClients(options, async (c) => {
    const { name, state: startState, window, scope } = await startReplayIn(c, { since, until, filter }, now, (line) => process.stderr.write(`warning: ${line}\n`));
    if (!options.wait) {
      if (options.json) return printJson({ replayName: name, state: startState, since: new Date(since).toISOString(), until: new Date(until).toISOString(), ...filter });
      return printLines(`replay ${name} started: ${window}, ${scope}`, '(with --wait the command follows it until it completes)');
    }
    if (!options.json) printLines(`replay ${name} started: ${window}, ${scope}`);
    let last = '';
    for (;;) {
      const out = await c.eventBridge.send(new DescribeReplayCommand({ ReplayName: name }));
      const state = out.State ?? 'UNKNOWN';
      const replayedUpTo = out.EventLastReplayedTime ? out.EventLastReplayedTime.toISOString() : null;
      const line = `${state}${replayedUpTo ? `, replayed up to ${replayedUpTo}` : ''}`;
      if (line !== last && !options.json) printLines(`  ${line}`);
      last = line;
      if (state === 'COMPLETED' || state === 'FAILED' || state === 'CANCELLED') {
        if (options.json) printJson({ replayName: name, state, reason: out.StateReason ?? null, since: new Date(since).toISOString(), until: new Date(until).toISOString(), replayedUpTo, ...filter });
        if (state !== 'COMPLETED') {
          if (!options.json) process.stderr.write(`replay ${name} ${state.toLowerCase()}${out.StateReason ? `: ${out.StateReason}` : ''}\n`);
          process.exitCode = 1;
        }
        return;
      }
      await new Promise((r) => setTimeout(r, REPLAY_POLL_MS[kind]));
    }
  });
}
