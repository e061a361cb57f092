import type { Command } from 'commander';
import {
  ConcurrentModificationError,
  SubscriptionNotFoundError,
  type DynamoSubscriptionStore,
  type StoredItem,
  type SubscriptionChanges,
} from '../../lambdas/adapters/subscription-store';
import {
  InvalidSubscriptionError,
  applyChanges,
  changeVerdict,
  livePreviousSecretExpiry,
  newSecret,
  newSubscriptionId,
  secretSchema,
  subscriptionProblems,
  subscriptionSchema,
  type Subscription,
} from '../../lambdas/core/subscriptions';
import { redactUrl } from '../../lambdas/core/endpoint-guard';
import { maxRequestsPerSecondSchema } from '../../lambdas/core/rate-limit';
import { healthColumn, healthLine, healthView, type HealthView } from '../health-view';
import type { Clients } from '../target';
import { CliError, UsageError } from '../cli-errors';
import { nonEmpty, parseDuration, parseEventList, parseOneLine, parseStatusFilter, parseSubscriptionUrl, parseTenant } from '../inputs';
import { fields, formatAge, printJson, printLines, table } from '../output';
import { withClients, withTargetOptions, withUrlPolicyOptions, type JsonOption } from '../run';
import { endpointPolicyFor, targetKind, type TargetOptions } from '../target';

type Options = TargetOptions & JsonOption & { tenant: string; showUrl?: boolean };

const SECRET_KEYS = new Set(['secret', 'previousSecret']);

/** A subscription without its secrets: what every command but create and rotate-secret shows. */
export function publicView(s: Subscription, showUrl = false): Omit<Subscription, 'secret' | 'previousSecret'> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { secret, previousSecret, ...rest } = s;
  return { ...rest, url: showUrl ? s.url : redactUrl(s.url) };
}

/** A stored item, valid or not, without its secrets (a broken secret may still be most of a real one). */
export function publicItem(item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !SECRET_KEYS.has(k)).map(([k, v]) => [k, k === 'url' && typeof v === 'string' ? redactUrl(v) : v]));
}

/**
 * A subscription as text. The URL is shown whole only with its secret (create) or on request
 * (`get --show-url`): a token in the path is as much a credential as the secret.
 */
function describe(s: Subscription, now: Date, secretShown?: string, showUrl = secretShown !== undefined, health?: HealthView): string {
  const entries: [string, string][] = [
    ['subscriptionId', s.subscriptionId],
    ['tenantId', s.tenantId],
    ['state', s.state],
  ];
  if (s.disabledReason) entries.push(['disabledReason', s.disabledReason]);
  entries.push(['url', showUrl ? s.url : redactUrl(s.url)], ['events', s.events.join(', ')], ['statusFilter', s.statusFilter?.length ? s.statusFilter.join(', ') : '(all statuses)']);
  if (s.maxRequestsPerSecond !== undefined) entries.push(['maxRequestsPerSecond', `${s.maxRequestsPerSecond} (rate limit)`]);
  if (s.description) entries.push(['description', s.description]);
  if (health) entries.push(['health', healthLine(health)]);
  entries.push(['secret', secretShown ?? '(hidden)']);
  if (s.previousSecret && s.previousSecretExpiresAt) {
    const live = Date.parse(s.previousSecretExpiresAt) > now.getTime();
    entries.push(['previousSecret', live ? `(hidden; still signs until ${s.previousSecretExpiresAt})` : `(hidden; expired ${s.previousSecretExpiresAt})`]);
  }
  if (s.createdAt) entries.push(['createdAt', s.createdAt]);
  if (s.updatedAt) entries.push(['updatedAt', s.updatedAt]);
  return fields(entries);
}

const FIELD_ORDER = ['subscriptionId', 'tenantId', 'state', 'disabledReason', 'url', 'events', 'statusFilter', 'maxRequestsPerSecond', 'description', 'secret', 'previousSecret', 'previousSecretExpiresAt', 'createdAt', 'updatedAt'];

/** A broken item, field by field as stored (secrets hidden), then what is wrong with it. */
function describeBroken(stored: StoredItem): string {
  const keys = Object.keys(stored.item).sort((a, b) => (FIELD_ORDER.indexOf(a) + 1 || 99) - (FIELD_ORDER.indexOf(b) + 1 || 99));
  const show = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(', ') : JSON.stringify(v));
  const entries: [string, string][] = keys.map((k) => [k, SECRET_KEYS.has(k) ? '(hidden)' : k === 'url' && typeof stored.item[k] === 'string' ? redactUrl(stored.item[k]) : show(stored.item[k])]);
  for (const p of stored.problems) entries.push(['problem', p]);
  return fields(entries);
}

/** The option or command that sets a field, for "fix it with" hints. */
const FIXED_BY: Readonly<Record<string, string>> = {
  url: 'update --url',
  events: 'update --events',
  statusFilter: 'update --status-filter or --no-status-filter',
  description: 'update --description or --no-description',
  maxRequestsPerSecond: 'update --max-rps or --no-max-rps',
  secret: 'rotate-secret',
  previousSecret: 'rotate-secret',
  previousSecretExpiresAt: 'rotate-secret',
  state: 'pause or resume',
  disabledReason: 'resume',
  createdAt: 'any update (it is not a date the CLI writes; fix it in the table)',
  updatedAt: 'any update (it sets updatedAt)',
};

/** `events: update --events; secret: rotate-secret`: how to fix each broken field. */
export function fixHint(problems: readonly string[]): string {
  const fieldsOf = [...new Set(problems.map((p) => p.split(/[.:]/)[0]!))];
  return fieldsOf.map((f) => `${f}: ${FIXED_BY[f] ?? 'fix it in the table'}`).join('; ');
}

/** `--max-rps`: the subscription attribute's own rule, in its words. */
function parseMaxRps(text: string): number {
  const trimmed = text.trim();
  const parsed = maxRequestsPerSecondSchema.safeParse(/^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN);
  if (!parsed.success || parsed.data === undefined) throw new UsageError(`--max-rps: ${parsed.success ? 'a number is required' : parsed.error.issues[0]!.message}, got "${text}"`);
  return parsed.data;
}

/**
 * The endpoint's health, or undefined when the target has no health table (a stack deployed
 * before it existed): health is shown where it exists and never stops a command.
 */
export async function healthOf(c: Clients, tenantId: string, subscriptionId: string): Promise<HealthView | undefined> {
  if (!c.target.outputs.HealthTableName) return undefined;
  return healthView(await c.health().get(tenantId, subscriptionId));
}

/** Where a command's notes go: stderr for the CLI (none with --json), the page for the console. */
export type Note = (line: string) => void;

const stderrNote = (options: JsonOption): Note | undefined => (options.json ? undefined : (line) => process.stderr.write(`${line}\n`));

/** Forgets the endpoint's health (resume, a new URL): it starts healthy, its breaker closed. */
async function resetHealth(c: Clients, tenantId: string, subscriptionId: string, why: string, note?: Note): Promise<void> {
  if (!c.target.outputs.HealthTableName) return;
  await c.health().reset(tenantId, subscriptionId);
  note?.(`endpoint health reset (${why}): its circuit breaker is closed and its failure count is 0`);
}

function tenantOf(options: { tenant: string }): string {
  return parseTenant('--tenant', options.tenant);
}

function subscriptionIdOf(id: string): string {
  return nonEmpty('<subscriptionId>', id);
}

/** The item as stored, broken or not; "not found" as an operator's message (also for another tenant's id). */
async function mustRead(store: DynamoSubscriptionStore, tenantId: string, subscriptionId: string): Promise<StoredItem> {
  const found = await store.read(tenantId, subscriptionId);
  if (!found) throw new CliError(new SubscriptionNotFoundError(tenantId, subscriptionId).message);
  return found;
}

interface Plan {
  readonly changes: SubscriptionChanges;
  /** Attributes that must still hold these values when the write happens (compare-and-set). */
  readonly expected?: Readonly<Record<string, unknown>>;
}

/**
 * Reads the item, plans the change on what is stored, and writes it only when the result is
 * valid or, for an item broken already, better (see changeVerdict); otherwise nothing is written
 * and the error names each broken field and how to fix it. The write is a compare-and-set on
 * updatedAt (every write sets it), so what was checked is what gets changed.
 */
async function change(store: DynamoSubscriptionStore, tenantId: string, subscriptionId: string, plan: (current: StoredItem) => Plan): Promise<StoredItem> {
  const current = await mustRead(store, tenantId, subscriptionId);
  const { changes, expected = {} } = plan(current);
  const after = subscriptionProblems(applyChanges(current.item, changes));
  const verdict = changeVerdict(current.problems, after);
  if (verdict === 'refused') {
    const broken = new InvalidSubscriptionError(after, tenantId, subscriptionId).message;
    throw new CliError(
      current.problems.length > 0
        ? `${broken}; nothing was written. Fix it first (${fixHint(after)})`
        : `this change would leave subscription ${subscriptionId} of tenant ${tenantId} invalid: ${after.join('; ')}; nothing was written`,
    );
  }
  try {
    return await store.updateStored(tenantId, subscriptionId, changes, { updatedAt: current.item.updatedAt, ...expected });
  } catch (error) {
    if (error instanceof SubscriptionNotFoundError || error instanceof ConcurrentModificationError) throw new CliError(error.message);
    throw error;
  }
}

/** Prints a subscription after a change; one still broken (a partial fix) is shown as stored, with a warning. */
function printChanged(stored: StoredItem, options: JsonOption, text: (s: Subscription) => string, ids: { tenantId: string; subscriptionId: string }): void {
  if (stored.subscription) {
    if (options.json) return printJson(publicView(stored.subscription));
    return printLines(text(stored.subscription));
  }
  const invalid = new InvalidSubscriptionError(stored.problems, ids.tenantId, ids.subscriptionId);
  process.stderr.write(`warning: written, but ${invalid.message}; fan-out skips it until that is fixed (${fixHint(stored.problems)})\n`);
  if (options.json) return printJson({ ...publicItem(stored.item), problems: stored.problems });
  printLines(describeBroken(stored));
}

const withTenant = (command: Command) => command.requiredOption('--tenant <id>', 'the tenant that owns the subscription');

export function registerSubscriptions(program: Command): void {
  const subs = program
    .command('subscriptions')
    .alias('subs')
    .description("manage a tenant's webhook subscriptions: where to deliver, which events, the signing secret");
  for (const register of [registerCreate, registerList, registerGet, registerUpdate, registerStateChanges, registerDelete, registerRotateSecret]) register(subs);
}

/** `subscriptions create`. */
function registerCreate(subs: Command): void {
  withUrlPolicyOptions(
    withTargetOptions(
      withTenant(subs.command('create'))
        .description('create an active subscription; prints its id and its secret (shown only here and by rotate-secret)')
        .requiredOption('--url <url>', 'the receiver: https://… (http and private hosts only where the target allows them)')
        .requiredOption('--events <names>', 'comma-separated event names, or "*" (quoted) for all five')
        .option('--status-filter <statuses>', 'deliver only when newStatus is one of these (comma-separated)')
        .option('--max-rps <n>', 'rate limit: at most n requests per second to the endpoint (1–1000), across all instances')
        .option('--description <text>', 'a note for operators'),
    ),
  )
    .addHelpText('after', '\nExample:\n  statushooks subscriptions create --tenant acme-shop --url https://hooks.acme.example/statushooks --events "*" --status-filter delivered')
    .action(createSubscription);
}

type CreateOptions = Options & { url: string; events: string; statusFilter?: string; maxRps?: string; description?: string };

/** What `create` takes besides the URL, checked before any target is contacted. */
export interface CreateInput {
  readonly tenantId: string;
  readonly events: string[];
  readonly statusFilter?: string[];
  readonly description?: string;
  readonly maxRequestsPerSecond?: number;
}

/** Parses create's options (the CLI's and the console's form fields) by the CLI's rules. */
export function createInput(options: { tenant: string; events: string; statusFilter?: string; maxRps?: string; description?: string }): CreateInput {
  return {
    tenantId: tenantOf(options),
    events: parseEventList('--events', options.events),
    statusFilter: options.statusFilter === undefined ? undefined : parseStatusFilter('--status-filter', options.statusFilter),
    description: options.description === undefined ? undefined : parseOneLine('--description', options.description),
    maxRequestsPerSecond: options.maxRps === undefined ? undefined : parseMaxRps(options.maxRps),
  };
}

/** Creates an active subscription with a new secret; the URL is checked against the target's policy. */
export async function createSubscriptionIn(c: Clients, input: CreateInput, rawUrl: string, options: TargetOptions): Promise<Subscription> {
  // A stack's endpoint policy is in its outputs: the URL is checked once the target is known.
  const url = parseSubscriptionUrl('--url', rawUrl, endpointPolicyFor(options, c.target), c.target.kind);
  const now = new Date().toISOString();
  const created = subscriptionSchema.parse({
    ...input,
    subscriptionId: newSubscriptionId(),
    url,
    secret: newSecret(),
    state: 'active',
    createdAt: now,
    updatedAt: now,
  });
  await c.store().create(created);
  return created;
}

async function createSubscription(options: CreateOptions): Promise<void> {
  targetKind(options);
  const input = createInput(options);
  const subscription = await withClients(options, (c) => createSubscriptionIn(c, input, options.url, options));
  if (options.json) return printJson(subscription);
  printLines(describe(subscription, new Date(), subscription.secret), '', 'Store the secret now: it is not shown again (rotate-secret issues a new one).');
}

/** A tenant's subscriptions (and items that break the schema) with each endpoint's health. */
export async function listSubscriptionsIn(c: Clients, tenantId: string) {
  const listed = await c.store().listByTenant(tenantId);
  // One Query for the whole tenant's health, not one read per subscription.
  const items = c.target.outputs.HealthTableName ? await c.health().listByTenant(tenantId) : undefined;
  const byId = new Map(items?.map((i) => [i.subscriptionId, i]));
  return { ...listed, health: (id: string): HealthView | undefined => (items ? healthView(byId.get(id)) : undefined) };
}

/** One subscription as stored (broken or not) and its endpoint's health; a CliError when there is none. */
export async function readSubscriptionIn(c: Clients, tenantId: string, subscriptionId: string): Promise<{ stored: StoredItem; health: HealthView | undefined }> {
  return { stored: await mustRead(c.store(), tenantId, subscriptionId), health: await healthOf(c, tenantId, subscriptionId) };
}

/** `subscriptions list`. */
function registerList(subs: Command): void {
  withTargetOptions(withTenant(subs.command('list')).description("list a tenant's subscriptions (secrets are never shown)"))
    .addHelpText('after', '\nExample:\n  statushooks subscriptions list --tenant acme-shop')
    .action(async (options: Options) => {
      const tenantId = tenantOf(options);
      const { subscriptions, invalid, health } = await withClients(options, (c) => listSubscriptionsIn(c, tenantId));
      for (const bad of invalid) process.stderr.write(`warning: item ${bad.subscriptionId} breaks the subscription schema and is skipped by fan-out: ${bad.reason}\n`);
      if (options.json) return printJson({ tenantId, subscriptions: subscriptions.map((s) => ({ ...publicView(s), health: health(s.subscriptionId) })), invalid });
      if (subscriptions.length === 0) return printLines(`no subscriptions for tenant ${tenantId}`);
      printLines(
        table(
          ['SUBSCRIPTION', 'STATE', 'HEALTH', 'EVENTS', 'STATUS FILTER', 'URL', 'DESCRIPTION'],
          subscriptions.map((s) => {
            const h = health(s.subscriptionId);
            return [s.subscriptionId, s.state, h ? healthColumn(h, s) : '?', s.events.join(','), s.statusFilter?.join(',') || '*', redactUrl(s.url), s.description ?? ''];
          }),
        ),
      );
    });
}

/** `subscriptions get`. */
function registerGet(subs: Command): void {
  withTargetOptions(withTenant(subs.command('get').argument('<subscriptionId>')).description('show one subscription (its secret stays hidden); a broken item is shown as stored, with what is wrong'))
    .option('--show-url', 'show the whole URL; by default path segments that look like tokens are masked')
    .addHelpText('after', '\nExample:\n  statushooks subscriptions get sub_8f14e45fceea167a5a36dedd --tenant acme-shop')
    .action(async (id: string, options: Options) => {
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      const { stored, health } = await withClients(options, (c) => readSubscriptionIn(c, tenantId, subscriptionId));
      if (stored.subscription) {
        if (options.json) return printJson({ ...publicView(stored.subscription, options.showUrl === true), health });
        return printLines(describe(stored.subscription, new Date(), undefined, options.showUrl === true, health));
      }
      // Show what is there (an operator needs it to fix the item), then fail: it is not a working subscription.
      if (options.json) printJson({ ...publicItem(stored.item), problems: stored.problems });
      else printLines(describeBroken(stored));
      const invalid = new InvalidSubscriptionError(stored.problems, tenantId, subscriptionId);
      throw new CliError(`${invalid.message}; fan-out skips it until it is fixed (${fixHint(stored.problems)})`);
    });
}

/** The options of `update`: a value sets the field, false removes it (`--no-…`), undefined keeps it. */
export interface UpdateOptions {
  readonly url?: string;
  readonly events?: string;
  readonly statusFilter?: string | false;
  readonly maxRps?: string | false;
  readonly description?: string | false;
}

/** The changes `update` writes (besides the URL, checked once the target is known). */
export function updateChanges(options: UpdateOptions): SubscriptionChanges {
  const changes: SubscriptionChanges = {};
  if (options.events !== undefined) changes.events = parseEventList('--events', options.events);
  if (options.statusFilter !== undefined) changes.statusFilter = options.statusFilter === false ? null : parseStatusFilter('--status-filter', options.statusFilter);
  if (options.description !== undefined) changes.description = options.description === false ? null : parseOneLine('--description', options.description);
  if (options.maxRps !== undefined) changes.maxRequestsPerSecond = options.maxRps === false ? null : parseMaxRps(options.maxRps);
  if (Object.keys(changes).length === 0 && options.url === undefined) {
    throw new UsageError('nothing to update: give --url, --events, --status-filter / --no-status-filter, --max-rps / --no-max-rps or --description / --no-description');
  }
  changes.updatedAt = new Date().toISOString();
  return changes;
}

/** Writes `changes` (and a new URL, checked against the target's policy, which resets the endpoint's health). */
export async function updateSubscriptionIn(c: Clients, tenantId: string, subscriptionId: string, changes: SubscriptionChanges, url: string | undefined, options: TargetOptions, note?: Note): Promise<StoredItem> {
  // A stack's endpoint policy is in its outputs: the URL is checked once the target is known.
  const all = url === undefined ? changes : { ...changes, url: parseSubscriptionUrl('--url', url, endpointPolicyFor(options, c.target), c.target.kind) };
  const written = await change(c.store(), tenantId, subscriptionId, () => ({ changes: all }));
  // A new URL is a new endpoint: its breaker starts closed.
  if (url !== undefined) await resetHealth(c, tenantId, subscriptionId, 'new URL', note);
  return written;
}

/** Pauses (`paused`) or resumes (`active`: clears disabledReason, resets the endpoint's health) a subscription. */
export async function setSubscriptionStateIn(c: Clients, tenantId: string, subscriptionId: string, state: 'paused' | 'active', note?: Note): Promise<StoredItem> {
  const changes: SubscriptionChanges = { state, updatedAt: new Date().toISOString() };
  if (state === 'active') changes.disabledReason = null;
  const written = await change(c.store(), tenantId, subscriptionId, () => ({ changes }));
  if (state === 'active') await resetHealth(c, tenantId, subscriptionId, 'resumed', note);
  return written;
}

/** Deletes a subscription; "not found" as an operator's message. */
export async function deleteSubscriptionIn(c: Clients, tenantId: string, subscriptionId: string): Promise<void> {
  try {
    await c.store().delete(tenantId, subscriptionId);
  } catch (error) {
    if (error instanceof SubscriptionNotFoundError) throw new CliError(error.message);
    throw error;
  }
}

/** `subscriptions update`. */
function registerUpdate(subs: Command): void {
  withUrlPolicyOptions(
    withTargetOptions(
      withTenant(subs.command('update').argument('<subscriptionId>'))
        .description('change the url, events, status filter, rate limit or description of a subscription (a new url resets its endpoint health)')
        .option('--url <url>', 'new receiver URL')
        .option('--events <names>', 'new event list: comma-separated names, or "*"')
        .option('--status-filter <statuses>', 'new status filter (comma-separated)')
        .option('--no-status-filter', 'remove the status filter (deliver every status)')
        .option('--max-rps <n>', 'new rate limit: at most n requests per second (1–1000)')
        .option('--no-max-rps', 'remove the rate limit')
        .option('--description <text>', 'new description')
        .option('--no-description', 'remove the description'),
    ),
  )
    .addHelpText('after', '\nExample:\n  statushooks subscriptions update sub_8f14e45fceea167a5a36dedd --tenant acme-shop --events return_order.status.changed --no-status-filter')
    .action(async (id: string, options: Options & UpdateOptions) => {
      targetKind(options);
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      const changes = updateChanges(options);
      const stored = await withClients(options, (c) => updateSubscriptionIn(c, tenantId, subscriptionId, changes, options.url, options, stderrNote(options)));
      printChanged(stored, options, (s) => describe(s, new Date()), { tenantId, subscriptionId });
    });
}

/** `subscriptions pause` and `subscriptions resume`. */
function registerStateChanges(subs: Command): void {
  const stateCommands = [
    { name: 'pause', description: 'stop new deliveries to a subscription (jobs already queued for it are dropped, not retried)', state: 'paused' },
    { name: 'resume', description: 'make a paused or disabled subscription active again (clears disabledReason, resets its endpoint health)', state: 'active' },
  ] as const;
  for (const { name, description, state } of stateCommands) {
    withTargetOptions(withTenant(subs.command(name).argument('<subscriptionId>')).description(description))
      .addHelpText('after', `\nExample:\n  statushooks subscriptions ${name} sub_8f14e45fceea167a5a36dedd --tenant acme-shop`)
      .action(async (id: string, options: Options) => {
        const tenantId = tenantOf(options);
        const subscriptionId = subscriptionIdOf(id);
        const stored = await withClients(options, (c) => setSubscriptionStateIn(c, tenantId, subscriptionId, state, stderrNote(options)));
        printChanged(stored, options, (s) => `${s.subscriptionId} (tenant ${s.tenantId}) is now ${s.state}`, { tenantId, subscriptionId });
      });
  }
}

/** `subscriptions delete`. */
function registerDelete(subs: Command): void {
  withTargetOptions(withTenant(subs.command('delete').argument('<subscriptionId>')).description('delete a subscription (jobs already queued for it are dropped)'))
    .addHelpText('after', '\nExample:\n  statushooks subscriptions delete sub_8f14e45fceea167a5a36dedd --tenant acme-shop')
    .action(async (id: string, options: Options) => {
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      await withClients(options, (c) => deleteSubscriptionIn(c, tenantId, subscriptionId));
      if (options.json) return printJson({ tenantId, subscriptionId, deleted: true });
      printLines(`deleted ${subscriptionId} (tenant ${tenantId})`);
    });
}

/** `subscriptions rotate-secret`. */
function registerRotateSecret(subs: Command): void {
  withTargetOptions(
    withTenant(subs.command('rotate-secret').argument('<subscriptionId>'))
      .description('issue a new secret; the old one keeps signing (a second signature) until the grace period ends')
      .option('--grace <duration>', 'how long the old secret still signs: 30m, 24h, 7d, … (0s: stop at once; at most 30d)', '24h')
      .option('--force', 'rotate even during the grace period of the last rotation, dropping the secret that rotation kept signing'),
  )
    .addHelpText(
      'after',
      [
        '',
        'A subscription holds one previous secret. Rotating again while it still signs',
        'would drop it, and receivers still on it would fail verification: that is',
        'refused (exit 1, naming when the grace period ends) unless --force is given.',
        '',
        'Example:',
        '  statushooks subscriptions rotate-secret sub_8f14e45fceea167a5a36dedd --tenant acme-shop --grace 48h',
      ].join('\n'),
    )
    .action(rotateSecret);
}

type RotateOptions = Options & { grace: string; force?: boolean };

interface Rotation extends Plan {
  /** When the previous secret --force dropped would have stopped signing. */
  readonly dropped?: string;
  /** The current secret was not a valid secret, so it could not keep signing. */
  readonly oldSecretBroken: boolean;
}

/** What a rotation writes to `item`; refused (unless forced) while the previous secret still signs. */
function rotationPlan(
  item: StoredItem['item'],
  ids: { tenantId: string; subscriptionId: string },
  rotate: { secret: string; graceMs: number; now: Date; force: boolean },
): Rotation {
  const { secret, graceMs, now } = rotate;
  const liveUntil = livePreviousSecretExpiry(item, now);
  if (liveUntil !== undefined && !rotate.force) {
    const left = formatAge((Date.parse(liveUntil) - now.getTime()) / 1000);
    throw new CliError(
      `subscription ${ids.subscriptionId} of tenant ${ids.tenantId} is still in the grace period of its last rotation: ` +
        `its previous secret signs until ${liveUntil} (in ${left}). Rotating now would drop that secret and receivers still on it would fail verification; ` +
        'wait until the grace period ends, or pass --force to drop it now. Nothing was written',
    );
  }
  // A broken current secret cannot keep signing: the new one replaces it at once.
  const oldSecretBroken = !secretSchema.safeParse(item.secret).success;
  const keepOld = graceMs > 0 && !oldSecretBroken;
  return {
    changes: {
      secret,
      previousSecret: keepOld ? (item.secret as string) : null,
      previousSecretExpiresAt: keepOld ? new Date(now.getTime() + graceMs).toISOString() : null,
      updatedAt: now.toISOString(),
    },
    // Compare-and-set on the secret: two rotations at once cannot both keep "the old" secret.
    expected: { secret: item.secret },
    dropped: liveUntil,
    oldSecretBroken,
  };
}

/** What a rotation wrote: the new secret (shown once), until when the previous one signs, and warnings. */
export interface RotationResult {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly secret: string;
  readonly previousSecretExpiresAt: string | null;
  readonly updatedAt: string | undefined;
  readonly warnings: string[];
}

/** `--grace` as a duration, by the CLI's rule. */
export function rotationGrace(grace: string): number {
  return parseDuration('--grace', grace);
}

/** Issues a new secret; the old one keeps signing for `graceMs` (refused during a live grace period unless forced). */
export async function rotateSecretIn(c: Clients, tenantId: string, subscriptionId: string, rotate: { graceMs: number; force: boolean }): Promise<RotationResult> {
  const now = new Date();
  const secret = newSecret();
  let rotation: Rotation | undefined;
  const stored = await change(c.store(), tenantId, subscriptionId, ({ item }) => (rotation = rotationPlan(item, { tenantId, subscriptionId }, { secret, graceMs: rotate.graceMs, now, force: rotate.force })));
  const { dropped, oldSecretBroken } = rotation!;
  const warnings: string[] = [];
  if (oldSecretBroken) warnings.push('the old secret was not a valid secret, so it cannot keep signing: the new secret replaces it at once');
  if (dropped !== undefined) warnings.push(`--force: dropped the previous secret that would have signed until ${dropped}`);
  if (!stored.subscription) {
    const invalid = new InvalidSubscriptionError(stored.problems, tenantId, subscriptionId);
    warnings.push(`written, but ${invalid.message}; fan-out skips it until that is fixed (${fixHint(stored.problems)})`);
  }
  const after = stored.item as Partial<Subscription>;
  return { tenantId, subscriptionId, secret, previousSecretExpiresAt: after.previousSecretExpiresAt ?? null, updatedAt: after.updatedAt, warnings };
}

async function rotateSecret(id: string, options: RotateOptions): Promise<void> {
  const tenantId = tenantOf(options);
  const subscriptionId = subscriptionIdOf(id);
  const graceMs = rotationGrace(options.grace);
  const { warnings, ...result } = await withClients(options, (c) => rotateSecretIn(c, tenantId, subscriptionId, { graceMs, force: options.force === true }));
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const secret = result.secret;
  if (options.json) return printJson(result);
  printLines(
    fields([
      ['subscriptionId', subscriptionId],
      ['tenantId', tenantId],
      ['secret', secret],
      ['previousSecret', result.previousSecretExpiresAt ? `(hidden; still signs until ${result.previousSecretExpiresAt})` : '(none: the old secret no longer signs)'],
    ]),
    '',
    'Store the new secret now: it is not shown again. Deliveries carry a signature for each live secret.',
  );
}
