import type { Command } from 'commander';
import { ConcurrentModificationError, SubscriptionNotFoundError, type DynamoSubscriptionStore, type SubscriptionChanges } from '../../lambdas/adapters/subscription-store';
import { newSecret, newSubscriptionId, subscriptionSchema, type Subscription } from '../../lambdas/core/subscriptions';
import { CliError, UsageError } from '../errors';
import { nonEmpty, parseDuration, parseEventList, parseStatusFilter, parseSubscriptionUrl } from '../inputs';
import { fields, printJson, printLines, table } from '../output';
import { withClients, withTargetOptions, withUrlPolicyOptions, type JsonOption } from '../run';
import { endpointPolicyFor, targetKind, type TargetOptions } from '../target';

type Options = TargetOptions & JsonOption & { tenant: string };

/** A subscription without its secrets: what every command but create and rotate-secret shows. */
export function publicView(s: Subscription): Omit<Subscription, 'secret' | 'previousSecret'> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { secret, previousSecret, ...rest } = s;
  return rest;
}

function describe(s: Subscription, now: Date, secretShown?: string): string {
  const entries: [string, string][] = [
    ['subscriptionId', s.subscriptionId],
    ['tenantId', s.tenantId],
    ['state', s.state],
  ];
  if (s.disabledReason) entries.push(['disabledReason', s.disabledReason]);
  entries.push(['url', s.url], ['events', s.events.join(', ')], ['statusFilter', s.statusFilter?.length ? s.statusFilter.join(', ') : '(all statuses)']);
  if (s.description) entries.push(['description', s.description]);
  entries.push(['secret', secretShown ?? '(hidden)']);
  if (s.previousSecret && s.previousSecretExpiresAt) {
    const live = Date.parse(s.previousSecretExpiresAt) > now.getTime();
    entries.push(['previousSecret', live ? `(hidden; still signs until ${s.previousSecretExpiresAt})` : `(hidden; expired ${s.previousSecretExpiresAt})`]);
  }
  if (s.createdAt) entries.push(['createdAt', s.createdAt]);
  if (s.updatedAt) entries.push(['updatedAt', s.updatedAt]);
  return fields(entries);
}

function tenantOf(options: { tenant: string }): string {
  return nonEmpty('--tenant', options.tenant);
}

function subscriptionIdOf(id: string): string {
  return nonEmpty('<subscriptionId>', id);
}

async function mustGet(store: DynamoSubscriptionStore, tenantId: string, subscriptionId: string): Promise<Subscription> {
  const found = await store.get(tenantId, subscriptionId);
  if (!found) throw new CliError(new SubscriptionNotFoundError(tenantId, subscriptionId).message);
  return found;
}

/** store.update, with "not found" as an operator's message (also when the id belongs to another tenant). */
async function mustUpdate(
  store: DynamoSubscriptionStore,
  tenantId: string,
  subscriptionId: string,
  changes: SubscriptionChanges,
  expected?: Readonly<Record<string, string>>,
): Promise<Subscription> {
  try {
    return await store.update(tenantId, subscriptionId, changes, expected);
  } catch (error) {
    if (error instanceof SubscriptionNotFoundError || error instanceof ConcurrentModificationError) throw new CliError(error.message);
    throw error;
  }
}

const withTenant = (command: Command) => command.requiredOption('--tenant <id>', 'the tenant that owns the subscription');

export function registerSubscriptions(program: Command): void {
  const subs = program
    .command('subscriptions')
    .alias('subs')
    .description('manage webhook subscriptions (the DynamoDB items of docs/architecture.md §3)');

  withUrlPolicyOptions(
    withTargetOptions(
      withTenant(subs.command('create'))
        .description('create an active subscription; prints its id and its secret (shown only here and by rotate-secret)')
        .requiredOption('--url <url>', 'the receiver: https://… (http and private hosts only where the target allows them)')
        .requiredOption('--events <names>', 'comma-separated event names, or "*" (quoted) for all five')
        .option('--status-filter <statuses>', 'deliver only when newStatus is one of these (comma-separated)')
        .option('--description <text>', 'a note for operators'),
    ),
  )
    .addHelpText('after', '\nExample:\n  statushooks subscriptions create --tenant acme-shop --url https://hooks.acme.example/statushooks --events "*" --status-filter delivered')
    .action(async (options: Options & { url: string; events: string; statusFilter?: string; description?: string }) => {
      const kind = targetKind(options);
      const tenantId = tenantOf(options);
      const url = parseSubscriptionUrl('--url', options.url, endpointPolicyFor(options), kind);
      const events = parseEventList('--events', options.events);
      const statusFilter = options.statusFilter === undefined ? undefined : parseStatusFilter('--status-filter', options.statusFilter);
      const description = options.description === undefined ? undefined : nonEmpty('--description', options.description);
      const now = new Date().toISOString();
      const subscription = subscriptionSchema.parse({
        tenantId,
        subscriptionId: newSubscriptionId(),
        url,
        events,
        statusFilter,
        secret: newSecret(),
        state: 'active',
        description,
        createdAt: now,
        updatedAt: now,
      });
      await withClients(options, (c) => c.store().create(subscription));
      if (options.json) return printJson(subscription);
      printLines(describe(subscription, new Date(), subscription.secret), '', 'Store the secret now: it is not shown again (rotate-secret issues a new one).');
    });

  withTargetOptions(withTenant(subs.command('list')).description("list a tenant's subscriptions (secrets are never shown)"))
    .addHelpText('after', '\nExample:\n  statushooks subscriptions list --tenant acme-shop')
    .action(async (options: Options) => {
      const tenantId = tenantOf(options);
      const { subscriptions, invalid } = await withClients(options, (c) => c.store().listByTenant(tenantId));
      for (const bad of invalid) process.stderr.write(`warning: item ${bad.subscriptionId} breaks the subscription schema and is skipped by fan-out: ${bad.reason}\n`);
      if (options.json) return printJson({ tenantId, subscriptions: subscriptions.map(publicView), invalid });
      if (subscriptions.length === 0) return printLines(`no subscriptions for tenant ${tenantId}`);
      printLines(
        table(
          ['SUBSCRIPTION', 'STATE', 'EVENTS', 'STATUS FILTER', 'URL', 'DESCRIPTION'],
          subscriptions.map((s) => [s.subscriptionId, s.state, s.events.join(','), s.statusFilter?.join(',') || '*', s.url, s.description ?? '']),
        ),
      );
    });

  withTargetOptions(withTenant(subs.command('get').argument('<subscriptionId>')).description('show one subscription (its secret stays hidden)'))
    .addHelpText('after', '\nExample:\n  statushooks subscriptions get sub_8f14e45fceea167a5a36dedd --tenant acme-shop')
    .action(async (id: string, options: Options) => {
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      const s = await withClients(options, (c) => mustGet(c.store(), tenantId, subscriptionId));
      if (options.json) return printJson(publicView(s));
      printLines(describe(s, new Date()));
    });

  withUrlPolicyOptions(
    withTargetOptions(
      withTenant(subs.command('update').argument('<subscriptionId>'))
        .description('change the url, events, status filter or description of a subscription')
        .option('--url <url>', 'new receiver URL')
        .option('--events <names>', 'new event list: comma-separated names, or "*"')
        .option('--status-filter <statuses>', 'new status filter (comma-separated)')
        .option('--no-status-filter', 'remove the status filter (deliver every status)')
        .option('--description <text>', 'new description')
        .option('--no-description', 'remove the description'),
    ),
  )
    .addHelpText('after', '\nExample:\n  statushooks subscriptions update sub_8f14e45fceea167a5a36dedd --tenant acme-shop --events return_order.status.changed --no-status-filter')
    .action(async (id: string, options: Options & { url?: string; events?: string; statusFilter?: string | false; description?: string | false }) => {
      const kind = targetKind(options);
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      const changes: SubscriptionChanges = {};
      if (options.url !== undefined) changes.url = parseSubscriptionUrl('--url', options.url, endpointPolicyFor(options), kind);
      if (options.events !== undefined) changes.events = parseEventList('--events', options.events);
      if (options.statusFilter !== undefined) changes.statusFilter = options.statusFilter === false ? null : parseStatusFilter('--status-filter', options.statusFilter);
      if (options.description !== undefined) changes.description = options.description === false ? null : nonEmpty('--description', options.description);
      if (Object.keys(changes).length === 0) {
        throw new UsageError('nothing to update: give --url, --events, --status-filter / --no-status-filter or --description / --no-description');
      }
      changes.updatedAt = new Date().toISOString();
      const s = await withClients(options, (c) => mustUpdate(c.store(), tenantId, subscriptionId, changes));
      if (options.json) return printJson(publicView(s));
      printLines(describe(s, new Date()));
    });

  const stateCommands = [
    { name: 'pause', description: 'stop new deliveries to a subscription (jobs already queued for it are dropped, not retried)', state: 'paused' },
    { name: 'resume', description: 'make a paused or disabled subscription active again (clears disabledReason)', state: 'active' },
  ] as const;
  for (const { name, description, state } of stateCommands) {
    withTargetOptions(withTenant(subs.command(name).argument('<subscriptionId>')).description(description))
      .addHelpText('after', `\nExample:\n  statushooks subscriptions ${name} sub_8f14e45fceea167a5a36dedd --tenant acme-shop`)
      .action(async (id: string, options: Options) => {
        const tenantId = tenantOf(options);
        const subscriptionId = subscriptionIdOf(id);
        const changes: SubscriptionChanges = { state, updatedAt: new Date().toISOString() };
        if (state === 'active') changes.disabledReason = null;
        const s = await withClients(options, (c) => mustUpdate(c.store(), tenantId, subscriptionId, changes));
        if (options.json) return printJson(publicView(s));
        printLines(`${s.subscriptionId} (tenant ${s.tenantId}) is now ${s.state}`);
      });
  }

  withTargetOptions(withTenant(subs.command('delete').argument('<subscriptionId>')).description('delete a subscription (jobs already queued for it are dropped)'))
    .addHelpText('after', '\nExample:\n  statushooks subscriptions delete sub_8f14e45fceea167a5a36dedd --tenant acme-shop')
    .action(async (id: string, options: Options) => {
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      await withClients(options, async (c) => {
        try {
          await c.store().delete(tenantId, subscriptionId);
        } catch (error) {
          if (error instanceof SubscriptionNotFoundError) throw new CliError(error.message);
          throw error;
        }
      });
      if (options.json) return printJson({ tenantId, subscriptionId, deleted: true });
      printLines(`deleted ${subscriptionId} (tenant ${tenantId})`);
    });

  withTargetOptions(
    withTenant(subs.command('rotate-secret').argument('<subscriptionId>'))
      .description('issue a new secret; the old one keeps signing (a second signature) until the grace period ends')
      .option('--grace <duration>', 'how long the old secret still signs: 30m, 24h, 7d, … (0s: stop at once; at most 30d)', '24h'),
  )
    .addHelpText('after', '\nExample:\n  statushooks subscriptions rotate-secret sub_8f14e45fceea167a5a36dedd --tenant acme-shop --grace 48h')
    .action(async (id: string, options: Options & { grace: string }) => {
      const tenantId = tenantOf(options);
      const subscriptionId = subscriptionIdOf(id);
      const graceMs = parseDuration('--grace', options.grace);
      const now = new Date();
      const secret = newSecret();
      const s = await withClients(options, async (c) => {
        const store = c.store();
        const current = await mustGet(store, tenantId, subscriptionId);
        const keepOld = graceMs > 0;
        return mustUpdate(store, tenantId, subscriptionId, {
          secret,
          previousSecret: keepOld ? current.secret : null,
          previousSecretExpiresAt: keepOld ? new Date(now.getTime() + graceMs).toISOString() : null,
          updatedAt: now.toISOString(),
        }, { secret: current.secret });
      });
      const result = { tenantId, subscriptionId, secret: s.secret, previousSecretExpiresAt: s.previousSecretExpiresAt ?? null, updatedAt: s.updatedAt };
      if (options.json) return printJson(result);
      printLines(
        fields([
          ['subscriptionId', subscriptionId],
          ['tenantId', tenantId],
          ['secret', s.secret],
          ['previousSecret', result.previousSecretExpiresAt ? `(hidden; still signs until ${result.previousSecretExpiresAt})` : '(none: the old secret no longer signs)'],
        ]),
        '',
        'Store the new secret now: it is not shown again. Deliveries carry a signature for each live secret.',
      );
    });
}
