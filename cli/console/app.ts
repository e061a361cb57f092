import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { html } from 'hono/html';
import { redactUrl } from '../../lambdas/core/endpoint-guard';
import { DEFAULTS } from '../../lambdas/core/config';
import { EVENT_NAMES } from '../../lambdas/core/catalog';
import { requeueBefore, requeueWords, waitingRequeue, type DeliveryRecord } from '../../lambdas/core/delivery-log';
import type { Subscription } from '../../lambdas/core/subscriptions';
import { CliError, UsageError, errorLine } from '../cli-errors';
import { healthLine } from '../health-view';
import { nonEmpty, parseTenant } from '../inputs';
import { plural } from '../../lambdas/core/text';
import { InvalidCursorError, type DeliveryPage } from '../../lambdas/adapters/delivery-log-store';
import { formatAge, printable } from '../output';
import { onTarget } from '../run';
import { Clients, type Target, type TargetOptions } from '../target';
import { LIST_VISIBILITY_SECONDS, listParkedEvents, listParkedJobs, parkedSelection, queueDepth, type Listing } from '../dlq-queue';
import type { ParkedEvent } from '../dlq-view';
import { REDRIVE_VISIBILITY_SECONDS } from '../redrive';
import {
  createInput,
  createSubscriptionIn,
  deleteSubscriptionIn,
  fixHint,
  listSubscriptionsIn,
  publicItem,
  readSubscriptionIn,
  rotateSecretIn,
  rotationGrace,
  setSubscriptionStateIn,
  updateChanges,
  updateSubscriptionIn,
} from '../commands/subscriptions';
import { checkEvent, replayRequest, sendEventIn, startReplayIn } from '../commands/events';
import { NUMBER_SEARCH_READS, UUID_SHAPE, notFound, recordView, requeuedLine, resendIn } from '../commands/deliveries';
import { discardIn, discardLines, discardWarnings, redriveIn, redriveLines, type Queue } from '../commands/dlq';
import { CHART_RANGES, MAX_TENANTS_SHOWN, SHOWN_STATES, chartData, inBatches, isChartRange, tenantIds, tenantSummary } from './data';
import { CSRF_FIELD, Session, guard, securityHeaders } from './security';
import {
  badge,
  checkbox,
  definitionList,
  deliveryHref,
  deliveryRows,
  deliveryTable,
  field,
  healthBadge,
  layout,
  postForm,
  select,
  subscriptionHref,
  tenantFromSegment,
  tenantHref,
  time,
  type Html,
  type Notice,
  type PageContext,
} from './views';

/** Deliveries a page lists (and the live list keeps showing). */
const RECENT = 25;
/** Deliveries a search page shows. */
const SEARCH_SHOWN = 50;
/** Deliveries the tenant page reads to find each subscription's last success. */
const LAST_SUCCESS_WINDOW = 200;
/** Parked messages a Dead letters page shows per queue. */
const DLQ_SHOWN = 100;

interface ConsoleDeps {
  readonly target: Target;
  readonly options: TargetOptions;
  readonly session: Session;
}

type FormValues = Record<string, string | string[]>;
type FieldErrors = Record<string, string>;

/** The form fields named after the CLI's options; an error naming the option belongs next to its field. */
const OPTION_FIELDS = ['--url', '--events', '--status-filter', '--max-rps', '--description', '--tenant', '--grace', '--source', '--type', '--old', '--new', '--uuid', '--number', '--external-id', '--since', '--until'];
const DETAIL_FIELDS: readonly [RegExp, string][] = [
  [/^detail\.tenantId$/, 'tenant'],
  [/^detail\.oldStatus$/, 'old'],
  [/^detail\.newStatus$/, 'new'],
  [/^detail\.\w+\.uuid$/, 'uuid'],
  [/^detail\.\w+\.number$/, 'number'],
  [/^detail\.\w+\.externalId$/, 'external-id'],
  [/^detail\.\w+$/, 'uuid'],
];

/**
 * Where a validation error of the CLI's parsers belongs: `--events: unknown event …` next to the
 * Events field, each `detail.x: …` problem of an event next to its field. The words stay the CLI's.
 */
export function fieldErrors(error: UsageError): FieldErrors {
  const errors: FieldErrors = {};
  const option = OPTION_FIELDS.find((o) => error.message === o || error.message.startsWith(`${o} `) || error.message.startsWith(`${o}:`));
  if (option) errors[option.slice(2)] = error.message;
  for (const match of error.message.matchAll(/(detail\.[\w.]+): ([^;]+)/g)) {
    const name = DETAIL_FIELDS.find(([re]) => re.test(match[1]!))?.[1];
    if (name) errors[name] = errors[name] ? `${errors[name]}; ${match[0]}` : match[0];
  }
  return errors;
}

/** The tenant of a `/tenants/:tenant…` route (views.ts tenantSegment). */
function tenantParam(c: Context): string {
  return tenantFromSegment(c.req.param('tenant') ?? '');
}

/** The tenant a /tenants/<tenant>/… path names, when it is one the CLI would take; else undefined. */
function validTenantOf(c: Context): string | undefined {
  const segment = /^\/tenants\/([^/]+)\/./.exec(new URL(c.req.url).pathname)?.[1];
  if (segment === undefined) return undefined;
  try {
    return parseTenant('tenant', tenantFromSegment(decodeURIComponent(segment)));
  } catch {
    return undefined;
  }
}

function str(values: FormValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

function all(values: FormValues, name: string): string[] {
  const v = values[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** What a text input does to a value it is given: line breaks are dropped. */
const asInputShowsIt = (value: string) => value.replace(/[\r\n]/g, '');

/**
 * A field of a form that was filled in with the current value (and carries that value in
 * `was-<name>`): given only when the operator changed it.
 */
function edited(values: FormValues, name: string): string | undefined {
  const now = str(values, name);
  const was = str(values, `was-${name}`);
  return now === undefined || (was !== undefined && asInputShowsIt(now) === asInputShowsIt(was)) ? undefined : now;
}

/** An optional form field: empty means "not given" (the option left out). */
function given(values: FormValues, name: string): string | undefined {
  const v = str(values, name);
  return v === undefined || v.trim() === '' ? undefined : v;
}

async function formOf(c: Context): Promise<FormValues> {
  const body = await c.req.parseBody({ all: true });
  const values: FormValues = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === CSRF_FIELD) continue;
    if (typeof v === 'string') values[k] = v;
    else if (Array.isArray(v)) values[k] = v.filter((x): x is string => typeof x === 'string');
  }
  return values;
}

function staticFiles(): Map<string, { body: string; type: string }> {
  const chart = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  const own = path.join(__dirname, 'static');
  return new Map([
    ['console.js', { body: readFileSync(path.join(own, 'console.js'), 'utf8'), type: 'text/javascript; charset=utf-8' }],
    ['console.css', { body: readFileSync(path.join(own, 'console.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
    ['chart.umd.min.js', { body: readFileSync(chart, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), type: 'text/javascript; charset=utf-8' }],
  ]);
}

/** The console's web app: pages over the functions the CLI's commands call, on one set of clients. */
export function consoleApp(deps: ConsoleDeps): { app: Hono; close(): void } {
  const { target, options, session } = deps;
  const clients = new Clients(target);
  // The delivery log's mode, from the stack's outputs (a stack from before the setting logs everything).
  const failuresOnly = target.outputs.DeliveryLogMode === 'failures';
  // Unknown last success: with failures only, the log does not keep first-attempt successes.
  const lastSuccessCell = (iso: string | undefined) =>
    iso !== undefined || !failuresOnly ? time(iso) : html`<span class="muted" title="this stack records failed deliveries only (deliveryLog = failures)">not recorded</span>`;
  const run = <T>(fn: (c: Clients) => Promise<T>) => onTarget(clients, fn);
  const ctx: PageContext = { csrfToken: session.csrfToken, targetLabel: target.label };
  const files = staticFiles();
  const app = new Hono();

  app.use('*', securityHeaders());
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('413: request body too large\n', 413) }));
  app.use('*', guard(session));

  const page = (c: Context, title: string, active: string, body: Html, notices: Notice[] = [], status: 200 | 400 | 404 | 409 | 422 | 500 | 503 = 200) => {
    const notice = c.req.query('notice');
    const shown = notice ? [{ kind: 'ok' as const, lines: [notice] }, ...notices] : notices;
    return c.html(layout(ctx, title, active, body, shown), status);
  };
  const back = (c: Context, to: string, notice: string) => c.redirect(`${to}?notice=${encodeURIComponent(notice)}`, 303);
  const errorNotice = (error: unknown): Notice => ({ kind: 'error', lines: [errorLine(error)] });

  app.onError((error, c) => {
    // A request the CLI would refuse as a usage error (a tenant no event can name), or one DynamoDB
    // refuses as invalid (a key longer than it allows): the request is wrong, not the console.
    const bad = error instanceof UsageError || (error as { name?: unknown }).name === 'ValidationException';
    const known = error instanceof CliError || bad;
    if (!known) process.stderr.write(`console: ${c.req.method} ${new URL(c.req.url).pathname}: ${errorLine(error)}\n`);
    const missing = known && /not found|^no delivery /.test(error.message);
    // The target (local runtime, AWS) did not answer: not the request's fault, and it may pass.
    const unreachable = known && !missing && /^(no target: )?cannot reach /.test(error.message);
    const title = missing ? 'Not found' : bad ? 'Bad request' : unreachable ? 'Target unreachable' : 'Error';
    const heading = missing || bad ? title : unreachable ? 'Cannot reach the target' : 'Something went wrong';
    // Back to the tenant the page was about, when the path names a valid one.
    const tenant = missing && !bad ? validTenantOf(c) : undefined;
    const links = tenant !== undefined ? html`<a href="${tenantHref(tenant)}">Back to tenant ${tenant}</a> · <a href="/">the overview</a>` : html`<a href="/">Back to the overview</a>`;
    return page(c, title, '', html`<h1>${heading}</h1><p>${links}</p>`, [errorNotice(error)], missing ? 404 : bad ? 400 : unreachable ? 503 : known ? 409 : 500);
  });
  // A tenant in the path follows the rules events apply to tenantId, as --tenant does in the CLI.
  const checkTenant = async (c: Context, next: () => Promise<void>) => {
    parseTenant('tenant', tenantParam(c));
    await next();
  };
  app.use('/tenants/:tenant', checkTenant);
  app.use('/tenants/:tenant/*', checkTenant);
  app.notFound((c) => page(c, 'Not found', '', html`<h1>Not found</h1><p><a href="/">Back to the overview</a></p>`, [], 404));

  app.get('/static/:file', (c) => {
    const file = files.get(c.req.param('file'));
    if (!file) return c.text('not found', 404);
    return c.body(file.body, 200, { 'Content-Type': file.type });
  });

  // ---- Overview -------------------------------------------------------------------------
  app.get('/', async (c) => {
    const now = Date.now();
    const data = await run(async (cl) => {
      const tenants = await tenantIds(cl);
      const shown = tenants.ids.slice(0, MAX_TENANTS_SHOWN);
      const [summaries, deliveryDlq, fanOutDlq, events] = await Promise.all([
        inBatches(shown, 5, (t) => tenantSummary(cl, t, now)),
        queueDepth(cl.sqs, cl.target.outputs.DeliveryDlqUrl ?? ''),
        queueDepth(cl.sqs, cl.target.outputs.FanOutDlqUrl ?? ''),
        cl.target.outputs.HealthTableName ? cl.operationalEvents().list(now - 86_400_000, now) : Promise.resolve(undefined),
      ]);
      return { tenants, summaries, deliveryDlq, fanOutDlq, events };
    });
    const count = (n: number | undefined) => (n ? String(n) : html`<span class="muted">0</span>`);
    const body = html`<h1>Overview</h1>
<section class="cards" aria-label="Dead-letter queues">
  <a class="card${data.deliveryDlq ? ' alarm' : ''}" href="/dlq"><span class="big">${data.deliveryDlq ?? '?'}</span><span>parked in the delivery DLQ</span></a>
  <a class="card${data.fanOutDlq ? ' alarm' : ''}" href="/dlq"><span class="big">${data.fanOutDlq ?? '?'}</span><span>parked in the fan-out DLQ</span></a>
  <div class="card"><span class="big">${data.tenants.ids.length}${data.tenants.truncated ? '+' : ''}</span><span>tenants with subscriptions</span></div>
</section>
<section aria-labelledby="tenants-h">
<div class="row-head"><h2 id="tenants-h">Tenants</h2>
<form method="get" action="/tenants" class="inline" aria-label="Open a tenant">${field({ name: 'tenant', label: 'Tenant', placeholder: 'acme-shop', required: true })}<button type="submit">Open tenant</button></form></div>
${
  data.summaries.length === 0
    ? html`<p class="empty">No subscriptions yet. Open a tenant to create one.</p>`
    : html`<table aria-label="Tenants">${failuresOnly ? html`<caption>Deliveries of the last hour come from the delivery log, which on this stack records failed deliveries only (<code>deliveryLog</code> = <code>failures</code>): first-attempt successes are not counted here.</caption>` : ''}<thead><tr><th>Tenant</th><th>Subscriptions by state</th><th>Health</th>${SHOWN_STATES.map((s) => html`<th class="num">${s} (1 h)</th>`)}</tr></thead><tbody>
${data.summaries.map(
  (s) => html`<tr><td><a href="${tenantHref(s.tenantId)}">${s.tenantId}</a></td>
<td>${Object.entries(s.states).map(([state, n]) => html`${badge(`${state} ${n}`, undefined)} `)}${s.invalid ? badge(`invalid ${s.invalid}`, 'bad') : ''}</td>
<td>${Object.entries(s.health).map(([h, n]) => html`${badge(`${h} ${n}`)} `)}</td>
${SHOWN_STATES.map((st) => html`<td class="num">${count(s.lastHour[st])}${s.lastHourTruncated && st === 'delivered' ? '+' : ''}</td>`)}</tr>`,
)}</tbody></table>`
}
${data.tenants.ids.length > MAX_TENANTS_SHOWN ? html`<p class="muted">Showing the first ${MAX_TENANTS_SHOWN} of ${data.tenants.ids.length} tenants; open any other by name.</p>` : ''}
</section>
<section aria-labelledby="ops-h"><h2 id="ops-h">Operational events, last 24 h <small class="muted">newest first</small></h2>
${
  data.events === undefined
    ? html`<p class="muted">This stack has no health table (deployed before operational events existed).</p>`
    : data.events.length === 0
      ? html`<p class="empty">No endpoint failed, recovered or was disabled in the last 24 hours.</p>`
      : html`<table aria-label="Operational events"><thead><tr><th>Time</th><th>Event</th><th>Tenant</th><th>Subscription</th><th>Since</th><th>URL</th><th>Reason</th></tr></thead><tbody>
${[...data.events].reverse().map(
  (e) => html`<tr><td>${time(e.time)}</td><td>${badge(e.detailType.replace(/^statushooks\./, ''), /recovered/.test(e.detailType) ? 'good' : 'bad')}</td>
<td><a href="${tenantHref(e.detail.tenantId)}">${e.detail.tenantId}</a></td><td><a class="mono" href="${subscriptionHref(e.detail.tenantId, e.detail.subscriptionId)}">${e.detail.subscriptionId}</a></td>
<td>${time(e.detail.since)}</td><td class="url">${e.detail.url}</td><td class="event-reason">${e.detail.reason}</td></tr>`,
)}</tbody></table>`
}
</section>`;
    return page(c, 'Overview', '/', body);
  });

  app.get('/tenants', (c) => {
    const tenant = (c.req.query('tenant') ?? '').trim();
    return tenant === '' ? c.redirect('/', 303) : c.redirect(tenantHref(tenant), 303);
  });

  // ---- Tenant ---------------------------------------------------------------------------
  const tenantPage = async (c: Context, tenantId: string, form: { values?: FormValues; errors?: FieldErrors; notices?: Notice[]; status?: 200 | 409 | 422 } = {}) => {
    const { listed, window } = await run(async (cl) => ({
      listed: await listSubscriptionsIn(cl, tenantId),
      window: cl.target.outputs.DeliveryLogTableName ? (await cl.deliveryLog().list({ tenantId, limit: LAST_SUCCESS_WINDOW })).records : [],
    }));
    const recent = window.slice(0, RECENT);
    const lastSuccess = lastSuccesses(window);
    // Endpoint health keeps a last success only once an endpoint has failed; the delivery log has the others.
    const lastSuccessOf = (id: string) => [listed.health(id)?.lastSuccessAt, lastSuccess.get(id)].filter((t): t is string => typeof t === 'string').sort().pop();
    const v = form.values ?? {};
    const e = form.errors ?? {};
    const body = html`<p class="crumbs"><a href="/">Overview</a> › tenant</p>
<h1>Tenant <span class="mono">${tenantId}</span></h1>
<section aria-labelledby="subs-h"><h2 id="subs-h">Subscriptions</h2>
${
  listed.subscriptions.length === 0
    ? html`<p class="empty">No subscriptions for tenant ${tenantId}.</p>`
    : html`<table aria-label="Subscriptions"><thead><tr><th>Subscription</th><th>State</th><th>Health</th><th>Events</th><th>Status filter</th><th>URL</th><th title="from endpoint health and the last ${LAST_SUCCESS_WINDOW} deliveries">Last success</th><th>Actions</th></tr></thead><tbody>
${listed.subscriptions.map((s) => {
  const h = listed.health(s.subscriptionId);
  return html`<tr><td class="subscription"><a class="mono" href="${subscriptionHref(tenantId, s.subscriptionId)}">${s.subscriptionId}</a>${s.description ? html`<br><small>${printable(s.description)}</small>` : ''}</td>
<td>${badge(s.state)}</td><td>${healthBadge(h, s)}</td><td>${s.events.join(', ')}</td><td>${s.statusFilter?.join(', ') || '*'}</td><td class="url">${redactUrl(s.url)}</td><td>${lastSuccessCell(lastSuccessOf(s.subscriptionId))}</td>
<td class="manage">${stateButton(ctx, tenantId, s)}<a href="${subscriptionHref(tenantId, s.subscriptionId)}#actions-h">Update, rotate, delete</a></td></tr>`;
})}</tbody></table>`
}
${listed.invalid.map((bad) => html`<div class="notice warning" role="status"><p>item ${bad.subscriptionId} breaks the subscription schema and is skipped by fan-out: ${bad.reason}</p></div>`)}
</section>
<section aria-labelledby="create-h"><h2 id="create-h">Create a subscription</h2>
${postForm(
  ctx,
  `${tenantHref(tenantId)}/subscriptions`,
  html`<div class="grid">
${field({ name: 'url', label: 'URL', value: str(v, 'url'), error: e.url, placeholder: 'https://hooks.example.com/statushooks', required: true, help: 'the receiver (http and private hosts only where the target allows them)' })}
${field({ name: 'events', label: 'Events', value: str(v, 'events') ?? '*', error: e.events, help: `"*" for all five, or comma-separated: ${EVENT_NAMES.join(', ')}` })}
${field({ name: 'status-filter', label: 'Status filter', value: str(v, 'status-filter'), error: e['status-filter'], help: 'deliver only when newStatus is one of these (comma-separated); empty: every status' })}
${field({ name: 'max-rps', label: 'Max requests per second', value: str(v, 'max-rps'), error: e['max-rps'], help: 'rate limit (1–1000); empty: none' })}
${field({ name: 'description', label: 'Description', value: str(v, 'description'), error: e.description, help: 'a note for operators' })}
</div>${e.tenant ? html`<p class="error">${e.tenant}</p>` : ''}<button type="submit">Create subscription</button>`,
  { label: 'Create a subscription' },
)}
</section>
<section aria-labelledby="del-h"><h2 id="del-h">Recent deliveries <small class="live">live</small></h2>
${deliveryTable(recent, `/live/deliveries?tenant=${encodeURIComponent(tenantId)}`, true, failuresOnly)}
<p><a href="${tenantHref(tenantId)}/deliveries">Find deliveries of an order, parcel or payment</a> · <a href="/send?tenant=${encodeURIComponent(tenantId)}">Send a test event to this tenant</a> · <a href="/dlq${dlqQuery(tenantId)}">Dead letters of this tenant</a></p>
</section>`;
    return page(c, `Tenant ${tenantId}`, '', body, form.notices ?? [], form.status ?? 200);
  };

  app.get('/tenants/:tenant', (c) => tenantPage(c, tenantParam(c)));

  app.post('/tenants/:tenant/subscriptions', async (c) => {
    const tenantId = tenantParam(c);
    const values = await formOf(c);
    try {
      const input = createInput({
        tenant: tenantId,
        events: str(values, 'events') ?? '',
        statusFilter: given(values, 'status-filter'),
        maxRps: given(values, 'max-rps'),
        description: given(values, 'description'),
      });
      const created = await run((cl) => createSubscriptionIn(cl, input, str(values, 'url') ?? '', options));
      return secretPage(c, created.tenantId, created.subscriptionId, created.secret, 'Subscription created', [
        'Store the secret now: it is not shown again (rotate-secret issues a new one).',
      ], created);
    } catch (error) {
      if (error instanceof UsageError) return tenantPage(c, tenantId, { values, errors: fieldErrors(error), notices: [errorNotice(error)], status: 422 });
      if (error instanceof CliError) return tenantPage(c, tenantId, { values, notices: [errorNotice(error)], status: 409 });
      throw error;
    }
  });

  /** The one page that shows a secret: the answer to the POST that made it, never stored, never cached. */
  const secretPage = (c: Context, tenantId: string, subscriptionId: string, secret: string, title: string, advice: string[], created?: Subscription) => {
    const body = html`<p class="crumbs"><a href="/">Overview</a> › <a href="${tenantHref(tenantId)}">${tenantId}</a> › secret</p>
<h1>${title}</h1>
${definitionList([
  ['Subscription', html`<a class="mono" href="${subscriptionHref(tenantId, subscriptionId)}">${subscriptionId}</a>`],
  ['Tenant', tenantId],
  ...(created ? ([['URL', created.url], ['Events', created.events.join(', ')]] as [string, string][]) : []),
])}
<div class="secret" role="region" aria-label="Signing secret"><p>Signing secret</p><code id="secret">${secret}</code></div>
${advice.map((a) => html`<p class="advice">${a}</p>`)}
<p><a href="${subscriptionHref(tenantId, subscriptionId)}">Go to the subscription</a> · <a href="${tenantHref(tenantId)}">Back to tenant ${tenantId}</a></p>`;
    return page(c, title, '', body);
  };

  // ---- Subscription ---------------------------------------------------------------------
  const subscriptionPage = async (c: Context, tenantId: string, subscriptionId: string, form: { values?: FormValues; errors?: FieldErrors; notices?: Notice[]; status?: 200 | 409 | 422 } = {}) => {
    const { stored, health, recent } = await run(async (cl) => ({
      ...(await readSubscriptionIn(cl, tenantId, subscriptionId)),
      recent: cl.target.outputs.DeliveryLogTableName ? (await cl.deliveryLog().list({ tenantId, subscriptionId, limit: RECENT })).records : [],
    }));
    const s = stored.subscription;
    const v = form.values ?? {};
    const e = form.errors ?? {};
    const range = isChartRange(c.req.query('range')) ? c.req.query('range')! : '24h';
    const base = subscriptionHref(tenantId, subscriptionId);
    const facts = s
      ? definitionList([
          ['State', html`${badge(s.state)}${s.disabledReason ? html` <span>${s.disabledReason}</span>` : ''}`],
          ['URL', html`<span class="url">${redactUrl(s.url)}</span>`],
          ['Events', s.events.join(', ')],
          ['Status filter', s.statusFilter?.length ? s.statusFilter.join(', ') : '(all statuses)'],
          ['Rate limit', s.maxRequestsPerSecond !== undefined ? `${s.maxRequestsPerSecond} requests per second` : '(none)'],
          ['Description', s.description !== undefined ? printable(s.description) : '-'],
          ['Secret', s.previousSecret && s.previousSecretExpiresAt ? `(hidden; the previous one ${Date.parse(s.previousSecretExpiresAt) > Date.now() ? 'still signs until' : 'expired'} ${s.previousSecretExpiresAt})` : '(hidden)'],
          ['Created', time(s.createdAt)],
          ['Updated', time(s.updatedAt)],
        ])
      : html`<div class="notice error" role="alert"><p>This item breaks the subscription schema; fan-out skips it until it is fixed (${fixHint(stored.problems)})</p>${stored.problems.map((p) => html`<p>${p}</p>`)}</div>
${definitionList(Object.entries(publicItem(stored.item)).map(([k, val]) => [k, typeof val === 'string' ? val : JSON.stringify(val)] as [string, string]))}`;
    const healthBox = health
      ? definitionList([
          ['Health', healthBadge(health, s)],
          ['Circuit breaker', badge(health.circuit)],
          ['Consecutive failures', String(health.consecutiveFailures)],
          ['Last success', lastSuccessCell([health.lastSuccessAt, lastSuccesses(recent).get(subscriptionId)].filter((t): t is string => typeof t === 'string').sort().pop())],
          ['Last failure', time(health.lastFailureAt)],
          ['Last error', health.lastError ?? '-'],
          ['Slow until', time(health.slowUntil)],
          ['In words', healthLine(health)],
        ])
      : html`<p class="muted">This stack has no health table.</p>`;
    const item = stored.item as Partial<Subscription>;
    // The update form starts from the current values; only the fields changed from these are written.
    const shown = {
      events: item.events?.join(',') ?? '',
      'status-filter': item.statusFilter?.join(',') ?? '',
      'max-rps': item.maxRequestsPerSecond !== undefined ? String(item.maxRequestsPerSecond) : '',
      description: item.description ?? '',
    };
    const body = html`<p class="crumbs"><a href="/">Overview</a> › <a href="${tenantHref(tenantId)}">${tenantId}</a> › subscription</p>
<h1>Subscription <span class="mono">${subscriptionId}</span></h1>
<p><a href="/dlq${dlqQuery(tenantId, subscriptionId)}">Dead letters of this subscription</a></p>
<div class="two">
<section aria-labelledby="facts-h"><h2 id="facts-h">Settings</h2>${facts}</section>
<section aria-labelledby="health-h"><h2 id="health-h">Endpoint health</h2>${healthBox}</section>
</div>
<section aria-labelledby="chart-h"><div class="row-head"><h2 id="chart-h">Deliveries and failures</h2>
<nav class="ranges" aria-label="Chart range">${Object.keys(CHART_RANGES).map((r) => html`<a href="${base}?range=${r}"${r === range ? html` aria-current="true"` : ''}>${r}</a>`)}</nav></div>
<div class="chart"><canvas data-chart-src="/api/chart?tenant=${encodeURIComponent(tenantId)}&subscription=${encodeURIComponent(subscriptionId)}&range=${range}" role="img" aria-label="Deliveries and failed attempts per ${range === '1h' ? 'minute' : 'interval'}, last ${range}"></canvas></div>
</section>
<section aria-labelledby="del-h"><h2 id="del-h">Recent deliveries <small class="live">live</small></h2>
${deliveryTable(recent, `/live/deliveries?tenant=${encodeURIComponent(tenantId)}&subscription=${encodeURIComponent(subscriptionId)}`, false, failuresOnly)}
</section>
<section aria-labelledby="actions-h"><h2 id="actions-h">Actions</h2>
<div class="actions">
${item.state === 'active' ? postForm(ctx, `${base}/pause`, html`<button type="submit">Pause</button>`) : postForm(ctx, `${base}/resume`, html`<button type="submit">Resume</button>`)}
${postForm(ctx, `${base}/rotate-secret`, html`${field({ name: 'grace', label: 'Grace period of the old secret', value: str(v, 'grace') ?? '24h', error: e.grace, help: '30m, 24h, 7d … (0s: stop at once; at most 30d)' })}${checkbox({ name: 'force', label: 'Force: drop a previous secret that still signs' })}<button type="submit">Rotate secret</button>`, { label: 'Rotate secret', className: 'box' })}
${postForm(ctx, `${base}/delete`, html`<button type="submit" class="danger">Delete subscription</button>`)}
</div>
</section>
<section aria-labelledby="replay-h"><h2 id="replay-h">Replay what it missed</h2>
<p class="muted">Sends the tenant's archived events of a time window to this subscription alone, with their original webhook-ids (receivers dedupe by them), like <code>statushooks events replay --tenant … --subscription …</code>. The tenant's other subscriptions get nothing. Resume the subscription first: a paused or disabled one gets nothing.</p>
${postForm(
  ctx,
  `${base}/replay`,
  html`<div class="grid">
${field({ name: 'since', label: 'Since', value: str(v, 'since') ?? '24h', error: e.since, help: '30m, 24h, 7d … or an ISO time; as far back as the archive keeps events' })}
${field({ name: 'until', label: 'Until', value: str(v, 'until') ?? '', error: e.until, help: 'empty: now' })}
</div><button type="submit">Replay to this subscription</button>`,
  { label: 'Replay what it missed' },
)}
</section>
<section aria-labelledby="update-h"><h2 id="update-h">Update</h2>
${postForm(
  ctx,
  `${base}/update`,
  html`<div class="grid">
${field({ name: 'url', label: 'New URL', value: str(v, 'url'), error: e.url, placeholder: item.url ? redactUrl(item.url) : '', help: 'empty: keep the current URL (a new URL resets the endpoint health)' })}
${field({ name: 'events', label: 'Events', value: str(v, 'events') ?? shown.events, error: e.events, help: '"*" or comma-separated event names' })}
${field({ name: 'status-filter', label: 'Status filter', value: str(v, 'status-filter') ?? shown['status-filter'], error: e['status-filter'], help: 'empty: every status' })}
${field({ name: 'max-rps', label: 'Max requests per second', value: str(v, 'max-rps') ?? shown['max-rps'], error: e['max-rps'], help: 'empty: no rate limit' })}
${field({ name: 'description', label: 'Description', value: str(v, 'description') ?? shown.description, error: e.description, help: 'empty: no description' })}
</div>${Object.entries(shown).map(([name, value]) => html`<input type="hidden" name="was-${name}" value="${str(v, `was-${name}`) ?? value}">`)}<button type="submit">Save changes</button>`,
  { label: 'Update the subscription' },
)}
</section>`;
    return page(c, `Subscription ${subscriptionId}`, '', body, form.notices ?? [], form.status ?? 200);
  };

  app.get('/tenants/:tenant/subscriptions/:id', (c) => subscriptionPage(c, tenantParam(c), c.req.param('id')));

  /** Runs a subscription action; a refusal is shown on the subscription's page, with the form as it was sent. */
  const subscriptionAction = async (c: Context, act: (tenantId: string, subscriptionId: string, values: FormValues) => Promise<Response>) => {
    const tenantId = tenantParam(c);
    const subscriptionId = c.req.param('id')!;
    const values = await formOf(c);
    try {
      return await act(tenantId, subscriptionId, values);
    } catch (error) {
      if (error instanceof UsageError) return subscriptionPage(c, tenantId, subscriptionId, { values, errors: fieldErrors(error), notices: [errorNotice(error)], status: 422 });
      if (error instanceof CliError) return subscriptionPage(c, tenantId, subscriptionId, { values, notices: [errorNotice(error)], status: 409 });
      throw error;
    }
  };
  const notes = () => {
    const lines: string[] = [];
    return { lines, note: (line: string) => void lines.push(line) };
  };

  for (const [action, state] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post(`/tenants/:tenant/subscriptions/:id/${action}`, (c) =>
      subscriptionAction(c, async (tenantId, subscriptionId, values) => {
        const { lines, note } = notes();
        const stored = await run((cl) => setSubscriptionStateIn(cl, tenantId, subscriptionId, state, note));
        const now = (stored.item as Partial<Subscription>).state ?? state;
        const to = str(values, 'from') === 'tenant' ? tenantHref(tenantId) : subscriptionHref(tenantId, subscriptionId);
        return back(c, to, [`${subscriptionId} (tenant ${tenantId}) is now ${now}`, ...lines].join('. '));
      }),
    );
  }

  app.post('/tenants/:tenant/subscriptions/:id/update', (c) =>
    subscriptionAction(c, async (tenantId, subscriptionId, values) => {
      // Like the CLI's options, only what the operator changed is written: a field left as the
      // form showed it (was-<name>) is not sent, so a value another tool wrote that the form
      // cannot carry (a description with a control character) does not block the other fields,
      // and a change made elsewhere since the page was loaded is not overwritten.
      const cleared = <T>(value: string | undefined, then: (v: string) => T): T | false | undefined =>
        value === undefined ? undefined : value.trim() === '' ? false : then(value);
      const events = edited(values, 'events');
      const statusFilter = cleared(edited(values, 'status-filter'), (x) => x);
      const maxRps = cleared(edited(values, 'max-rps'), (x) => x);
      const description = cleared(edited(values, 'description'), (x) => x);
      const url = given(values, 'url');
      if (events === undefined && statusFilter === undefined && maxRps === undefined && description === undefined && url === undefined) {
        return subscriptionPage(c, tenantId, subscriptionId, { values, notices: [{ kind: 'error', lines: ['nothing to save: no field differs from the subscription as this page showed it'] }], status: 422 });
      }
      const changes = updateChanges({ events, statusFilter, maxRps, description, url });
      const { lines, note } = notes();
      const stored = await run((cl) => updateSubscriptionIn(cl, tenantId, subscriptionId, changes, url, options, note));
      const warning = stored.subscription ? [] : [`written, but the item still breaks the schema; fan-out skips it until that is fixed (${fixHint(stored.problems)})`];
      return back(c, subscriptionHref(tenantId, subscriptionId), ['saved', ...lines, ...warning].join('. '));
    }),
  );

  app.post('/tenants/:tenant/subscriptions/:id/replay', (c) =>
    subscriptionAction(c, async (tenantId, subscriptionId, values) => {
      const now = Date.now();
      const request = replayRequest({ since: str(values, 'since') ?? '', until: given(values, 'until'), tenant: tenantId, subscription: subscriptionId }, now);
      const warnings: string[] = [];
      const started = await run((cl) => startReplayIn(cl, request, now, (line) => void warnings.push(line)));
      const lines = [`replay ${started.name} started: ${started.window}, ${started.scope}; its deliveries appear below as they are made`, ...warnings.map((w) => `warning: ${w}`)];
      return back(c, subscriptionHref(tenantId, subscriptionId), lines.join('. '));
    }),
  );

  app.post('/tenants/:tenant/subscriptions/:id/rotate-secret', (c) =>
    subscriptionAction(c, async (tenantId, subscriptionId, values) => {
      const graceMs = rotationGrace(str(values, 'grace') ?? '24h');
      const result = await run((cl) => rotateSecretIn(cl, tenantId, subscriptionId, { graceMs, force: str(values, 'force') === 'yes' }));
      return secretPage(c, tenantId, subscriptionId, result.secret, 'Secret rotated', [
        ...result.warnings.map((w) => `warning: ${w}`),
        result.previousSecretExpiresAt ? `The previous secret still signs until ${result.previousSecretExpiresAt}.` : 'The previous secret no longer signs.',
        'Store the new secret now: it is not shown again. Deliveries carry a signature for each live secret.',
      ]);
    }),
  );

  app.post('/tenants/:tenant/subscriptions/:id/delete', (c) =>
    subscriptionAction(c, async (tenantId, subscriptionId, values) => {
      if (str(values, 'confirm') !== 'yes') {
        const body = html`<p class="crumbs"><a href="/">Overview</a> › <a href="${tenantHref(tenantId)}">${tenantId}</a> › delete</p>
<h1>Delete subscription <span class="mono">${subscriptionId}</span>?</h1>
<p>Tenant ${tenantId} stops receiving webhooks at this endpoint; jobs already queued for it are dropped. This cannot be undone.</p>
${postForm(ctx, subscriptionHref(tenantId, subscriptionId) + '/delete', html`<input type="hidden" name="confirm" value="yes"><button type="submit" class="danger">Yes, delete it</button> <a href="${subscriptionHref(tenantId, subscriptionId)}">Cancel</a>`, { label: 'Confirm delete' })}`;
        return page(c, 'Delete subscription?', '', body);
      }
      await run((cl) => deleteSubscriptionIn(cl, tenantId, subscriptionId));
      return back(c, tenantHref(tenantId), `deleted ${subscriptionId} (tenant ${tenantId})`);
    }),
  );

  // ---- Deliveries -----------------------------------------------------------------------
  app.get('/live/deliveries', async (c) => {
    const tenantId = parseTenant('--tenant', c.req.query('tenant') ?? '');
    const subscriptionId = c.req.query('subscription');
    const records = await run(async (cl) => (cl.target.outputs.DeliveryLogTableName ? (await cl.deliveryLog().list({ tenantId, subscriptionId, limit: RECENT })).records : []));
    return c.html(deliveryRows(records, subscriptionId === undefined, failuresOnly));
  });

  app.get('/api/chart', async (c) => {
    const tenantId = parseTenant('--tenant', c.req.query('tenant') ?? '');
    const subscriptionId = nonEmpty('--subscription', c.req.query('subscription') ?? '');
    const range = c.req.query('range');
    const data = await run((cl) => chartData(cl, tenantId, subscriptionId, isChartRange(range) ? range : '24h', Date.now()));
    return c.json(data);
  });

  const deliveryPage = async (c: Context, tenantId: string, deliveryId: string, notices: Notice[] = [], status: 200 | 409 = 200) => {
    const { record, log } = await run(async (cl) => {
      const log = cl.deliveryLog();
      return { record: await log.get(tenantId, deliveryId), log };
    });
    if (!record) throw new CliError(notFound(deliveryId, tenantId, log));
    const r = recordView(record);
    const waiting = waitingRequeue(record);
    const body = html`<p class="crumbs"><a href="/">Overview</a> › <a href="${tenantHref(tenantId)}">${tenantId}</a> › <a href="${subscriptionHref(tenantId, r.subscriptionId)}">${r.subscriptionId}</a> › delivery</p>
<h1>Delivery <span class="mono">${r.deliveryId}</span></h1>
<div class="two">
<section aria-labelledby="facts-h"><h2 id="facts-h">Delivery</h2>${definitionList([
      ['State', html`${badge(r.state)}${r.reason ? html` <span>${r.reason}</span>` : ''}`],
      ['Event', html`${r.event} <span class="muted">(event ${r.eventId}, ${r.occurredAt})</span>`],
      ['Entity', r.entityNumber ? `${r.entityUuid} (number ${r.entityNumber})` : r.entityUuid],
      ['Subscription', html`<a class="mono" href="${subscriptionHref(tenantId, r.subscriptionId)}">${r.subscriptionId}</a>`],
      ['URL', html`<span class="url">${r.url ?? '-'}</span>`],
      ['Created', time(r.createdAt)],
      ['Updated', time(r.updatedAt)],
      ['Expires', time(r.expiresAt)],
      ...(record.queuedBy !== undefined ? [['Replayed by', html`<span class="mono">${record.queuedBy}</span> <span class="muted">(the last replay that queued it again)</span>`] as const] : []),
    ])}
${postForm(ctx, `${deliveryHref(tenantId, r.deliveryId)}/resend`, html`<button type="submit">Resend</button> <small>the same body with the same webhook-id; attempts start again</small>`, { label: 'Resend' })}
</section>
<section aria-labelledby="body-h"><h2 id="body-h">Body</h2><pre class="body">${prettyJson(r.body)}</pre></section>
</div>
<section aria-labelledby="att-h"><h2 id="att-h">Attempts</h2>
${
  r.attempts.length === 0
    ? html`<p class="empty">No attempts yet.</p>`
    : html`<table aria-label="Attempts"><thead><tr><th class="num">#</th><th>At</th><th>Lane</th><th>Status</th><th class="num">Duration</th><th>Error</th><th>Response</th></tr></thead><tbody>
${r.attempts.map(
  (a, i) => html`${i > 0 && a.attempt <= r.attempts[i - 1]!.attempt ? html`<tr class="requeued"><td colspan="7">${requeuedLine(requeueBefore(record, i))}; attempts count from 1 again</td></tr>` : ''}<tr><td class="num">${a.attempt}</td><td>${time(a.at)}</td><td>${a.lane ?? '-'}</td>
<td>${a.statusCode !== null ? badge(`HTTP ${a.statusCode}`, a.statusCode >= 200 && a.statusCode < 300 ? 'good' : 'bad') : badge('no response', 'bad')}</td>
<td class="num">${a.durationMs} ms</td><td>${a.error ?? '-'}</td><td>${a.response !== null ? html`<pre class="snippet">${a.response}</pre>` : html`<span class="muted">-</span>`}</td></tr>`,
)}${waiting !== undefined ? html`<tr class="requeued"><td colspan="7">queued again by ${requeueWords(waiting)}: no attempt since</td></tr>` : ''}</tbody></table>`
}
</section>`;
    return page(c, `Delivery ${deliveryId}`, '', body, notices, status);
  };

  app.get('/tenants/:tenant/deliveries/:id', (c) => deliveryPage(c, tenantParam(c), c.req.param('id')));

  // Support's question, "what happened to order 100004?": by the entity's uuid (its index), else by
  // its number (read on the records, as `deliveries list --entity-number`), newest first.
  app.get('/tenants/:tenant/deliveries', async (c) => {
    const tenantId = tenantParam(c);
    const entity = (c.req.query('entity') ?? '').trim();
    const base = `${tenantHref(tenantId)}/deliveries`;
    const crumbs = html`<p class="crumbs"><a href="/">Overview</a> › <a href="${tenantHref(tenantId)}">${tenantId}</a> › find deliveries</p>`;
    const form = html`<form method="get" action="${base}" class="inline" role="search" aria-label="Find deliveries"><div class="field"><label for="entity">Order, parcel or payment: its uuid or number</label><input id="entity" name="entity" value="${entity}" required maxlength="256"></div><button type="submit">Find deliveries</button></form>`;
    if (entity === '') return page(c, `Find deliveries of ${tenantId}`, '', html`${crumbs}<h1>Find deliveries of tenant ${tenantId}</h1><section aria-labelledby="find-h"><h2 id="find-h" class="sr-only">Find</h2>${form}</section>`);
    const by = c.req.query('by') === 'number' ? 'number' : c.req.query('by') === 'uuid' ? 'uuid' : undefined;
    const cursor = c.req.query('cursor') || undefined;
    const search = async (how: 'uuid' | 'number') =>
      run((cl) => cl.deliveryLog().list({ tenantId, limit: SEARCH_SHOWN, cursor, ...(how === 'uuid' ? { entityUuid: entity } : { entityNumber: entity, maxRecordsRead: NUMBER_SEARCH_READS }) }));
    let how: 'uuid' | 'number' = by ?? 'uuid';
    let result: DeliveryPage;
    try {
      // The uuid first (its own index, a few reads; the platform's uuids are free text, so any value
      // may be one), then, for a value that is not shaped like a uuid, the number (read on the records).
      result = await search(how);
      if (by === undefined && result.records.length === 0 && !UUID_SHAPE.test(entity)) {
        how = 'number';
        result = await search(how);
      }
    } catch (error) {
      if (error instanceof InvalidCursorError) return page(c, 'Find deliveries', '', html`${crumbs}<h1>Find deliveries of tenant ${tenantId}</h1>${form}`, [{ kind: 'error', lines: [`error: ${error.message}`] }], 422);
      throw error;
    }
    const more = result.next ? `${base}?entity=${encodeURIComponent(entity)}&by=${how}&cursor=${encodeURIComponent(result.next)}` : undefined;
    const searched = result.readLimitReached
      ? html`<div class="notice warning" role="status"><p>Searched ${result.itemsRead} items of the delivery log so far (the number is on the records, not in an index): older deliveries are not searched yet. <a href="${more}">Search further back</a></p></div>`
      : '';
    const body = html`${crumbs}<h1>Deliveries of ${how === 'uuid' ? 'entity' : 'entity number'} <span class="mono">${entity}</span></h1>
<section aria-labelledby="find-h"><h2 id="find-h" class="sr-only">Find</h2>${form}</section>${searched}
<section aria-labelledby="found-h"><h2 id="found-h">Deliveries <span class="count">${result.records.length}${more ? '+' : ''}</span></h2>
<table class="deliveries" aria-label="Deliveries found"><thead><tr><th>Created</th><th>Delivery (webhook-id)</th><th>Subscription</th><th>Event</th><th>State</th><th class="num">Attempts</th><th>Last result</th></tr></thead>
<tbody>${result.records.length === 0 ? html`<tr><td colspan="7" class="empty">${failuresOnly ? 'no failed deliveries of it (this stack records failed deliveries only)' : 'no deliveries of it'}${result.readLimitReached ? ' so far' : ''}</td></tr>` : deliveryRows(result.records, true, failuresOnly)}</tbody></table>
${more && !result.readLimitReached ? html`<p><a href="${more}">Older deliveries</a></p>` : ''}</section>`;
    return page(c, `Deliveries of ${entity}`, '', body);
  });

  app.post('/tenants/:tenant/deliveries/:id/resend', async (c) => {
    const tenantId = tenantParam(c);
    const id = c.req.param('id');
    try {
      const result = await run((cl) => resendIn(cl, tenantId, id));
      const n = result.record.attempts.length;
      const lines = [`queued delivery ${id} again for subscription ${result.record.subscriptionId} (was ${result.record.state} after ${n} attempt${n === 1 ? '' : 's'}); same body, same webhook-id`];
      if (result.markError) lines.push(`warning: queued, but the delivery-log record could not be marked pending: ${result.markError}`);
      return back(c, deliveryHref(tenantId, id), lines.join('. '));
    } catch (error) {
      if (error instanceof CliError) return deliveryPage(c, tenantId, id, [errorNotice(error)], 409);
      throw error;
    }
  });

  // ---- Dead letters ---------------------------------------------------------------------
  const dlqPage = async (c: Context, notices: Notice[] = [], status: 200 | 409 | 422 = 200) => {
    const now = new Date();
    // `?tenant=`, `?subscription=`: only those messages (as `dlq list --tenant --subscription`); the scan reads on to find them.
    let tenant: string | undefined;
    let subscription: string | undefined;
    try {
      const t = c.req.query('tenant');
      const s = c.req.query('subscription');
      tenant = t === undefined || t === '' ? undefined : parseTenant('tenant', t);
      subscription = s === undefined || s === '' ? undefined : nonEmpty('subscription', s);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return page(c, 'Dead letters', '/dlq', html`<h1>Dead letters</h1><p><a href="/dlq">All dead letters</a></p>`, [errorNotice(error)], 422);
    }
    const select = parkedSelection({ tenant, subscription });
    const filtered = select !== undefined;
    const none: Listing<ParkedEvent> = { items: [], total: null, unreleased: 0 };
    const { jobs, events } = await run(async (cl) => ({
      jobs: await listParkedJobs(cl.sqs, cl.target.outputs.DeliveryDlqUrl ?? '', DLQ_SHOWN, now, select),
      // Fan-out DLQ messages are events, not yet jobs of a subscription: nothing of one subscription is there.
      events: subscription === undefined ? await listParkedEvents(cl.sqs, cl.target.outputs.FanOutDlqUrl ?? '', DLQ_SHOWN, now, select) : none,
    }));
    const query = dlqQuery(tenant, subscription);
    const words = subscription === undefined ? `tenant ${tenant}` : `subscription ${subscription}${tenant === undefined ? '' : ` of tenant ${tenant}`}`;
    const unreleased = jobs.unreleased + events.unreleased;
    const warn: Notice[] = unreleased > 0 ? [{ kind: 'warning', lines: [`${unreleased} message(s) could not be made visible again; they reappear by themselves within ${LIST_VISIBILITY_SECONDS}s`] }] : [];
    const selectBox = (messageId: string, shown: string) =>
      html`<input type="checkbox" name="id" value="${messageId}" id="m-${messageId}"><label for="m-${messageId}" class="sr-only">Select ${shown}</label>`;
    const total = (listing: { total: number | null; items: unknown[]; scanned?: number }) => {
      const shown = listing.items.length;
      if (filtered && listing.scanned === 0) return '0';
      if (filtered) return `${shown} of ${words}, ${plural(listing.scanned ?? 0, 'message')} read${listing.total !== null ? ` of about ${listing.total}` : ''}`;
      return listing.total !== null && listing.total > shown ? `${shown} shown of ${listing.total}` : `${shown}`;
    };
    const emptyText = (queue: string, scanned?: number) => (!filtered || scanned === 0 ? `the ${queue} DLQ is empty` : `nothing parked in the ${queue} DLQ for ${words}`);
    const tenantLink = (t: string) => html`<a href="${tenantHref(t)}">${t}</a>`;
    const heading =
      subscription !== undefined
        ? html` of subscription ${tenant !== undefined ? html`<a class="mono" href="${subscriptionHref(tenant, subscription)}">${subscription}</a> (tenant ${tenantLink(tenant)})` : html`<span class="mono">${subscription}</span>`}`
        : tenant !== undefined
          ? html` of tenant ${tenantLink(tenant)}`
          : '';
    const body = html`<h1>Dead letters${heading}</h1>
${filtered ? html`<p>${subscription !== undefined && tenant !== undefined ? html`<a href="/dlq${dlqQuery(tenant)}">All dead letters of tenant ${tenant}</a> · ` : ''}<a href="/dlq">All tenants' dead letters</a></p>` : ''}
<section aria-labelledby="dq-h"><h2 id="dq-h">Delivery DLQ <span class="count">${total(jobs)}</span></h2>
<p class="muted">Jobs parked after their last attempt (or refused at once, e.g. 410 Gone). Redrive puts them back on the delivery queue with the same webhook-id; attempts start again.</p>
${
  jobs.items.length === 0
    ? html`<p class="empty">${emptyText('delivery', jobs.scanned)}</p>`
    : postForm(
        ctx,
        `/dlq/delivery${query}`,
        html`<table aria-label="Delivery DLQ"><thead><tr><th><span class="sr-only">Select</span></th><th>Delivery (webhook-id)</th><th>Tenant</th><th>Subscription</th><th>Event</th><th class="num">Attempts</th><th>Age</th><th>Reason</th></tr></thead><tbody>
${jobs.items.map(
  (j) => html`<tr><td>${selectBox(j.messageId, j.deliveryId ?? `message ${j.messageId}`)}</td>
<td>${j.deliveryId && j.tenantId ? html`<a class="mono" href="${deliveryHref(j.tenantId, j.deliveryId)}">${j.deliveryId}</a>` : html`<span class="mono">(message ${j.messageId})</span>`}</td>
<td>${j.tenantId ? html`<a href="${tenantHref(j.tenantId)}">${j.tenantId}</a>` : '-'}</td>
<td>${j.tenantId && j.subscriptionId ? html`<a class="mono" href="${subscriptionHref(j.tenantId, j.subscriptionId)}">${j.subscriptionId}</a>` : '-'}</td>
<td>${j.event ?? '-'}</td><td class="num">${j.attempts ?? '-'}</td><td>${formatAge(j.ageSeconds ?? undefined)}</td><td class="reason">${j.reason}</td></tr>`,
)}</tbody></table>
<div class="actions">${checkbox({ name: 'force', label: 'Also move jobs of paused, disabled or deleted subscriptions (--force)' })}
<button type="submit" name="action" value="redrive">Redrive selected</button><button type="submit" name="action" value="discard" class="danger">Discard selected</button></div>`,
        { label: 'Delivery DLQ' },
      )
}
</section>
<section aria-labelledby="fq-h"><h2 id="fq-h">Fan-out DLQ${subscription === undefined ? html` <span class="count">${total(events)}</span>` : ''}</h2>
<p class="muted">Events fan-out rejected as invalid or could not handle. Redrive runs them through fan-out again with their original event ids.</p>
${
  subscription !== undefined
    ? html`<p class="empty">Not filtered by subscription: these are events, not yet jobs of one subscription. <a href="/dlq${dlqQuery(tenant)}">${tenant !== undefined ? `The fan-out DLQ of tenant ${tenant}` : 'The whole fan-out DLQ'}</a></p>`
    : events.items.length === 0
    ? html`<p class="empty">${emptyText('fan-out', events.scanned)}</p>`
    : postForm(
        ctx,
        `/dlq/fan-out${query}`,
        html`<table aria-label="Fan-out DLQ"><thead><tr><th><span class="sr-only">Select</span></th><th>Event id</th><th>Tenant</th><th>Detail-type</th><th>Kind</th><th class="num">Attempts</th><th>Age</th><th>Reason</th></tr></thead><tbody>
${events.items.map(
  (e) => html`<tr><td>${selectBox(e.messageId, e.eventId ?? `message ${e.messageId}`)}</td><td class="mono">${e.eventId ?? `(message ${e.messageId})`}</td>
<td>${e.tenantId ? html`<a href="${tenantHref(e.tenantId)}">${e.tenantId}</a>` : '-'}</td><td>${e.detailType ?? '-'}</td><td>${badge(e.kind, e.kind === 'rejected-event' ? 'bad' : 'warn')}</td>
<td class="num">${e.attempts ?? '-'}</td><td>${formatAge(e.ageSeconds ?? undefined)}</td><td class="reason">${e.reason}</td></tr>`,
)}</tbody></table>
<div class="actions">${checkbox({ name: 'include-rejected', label: 'Also retry events rejected as invalid, if the current validator accepts them (--include-rejected)' })}
<button type="submit" name="action" value="redrive">Redrive selected</button><button type="submit" name="action" value="discard" class="danger">Discard selected</button></div>`,
        { label: 'Fan-out DLQ' },
      )
}
</section>`;
    return page(c, 'Dead letters', '/dlq', body, [...notices, ...warn], status);
  };

  app.get('/dlq', (c) => dlqPage(c));

  app.post('/dlq/:queue', async (c) => {
    const queue = c.req.param('queue');
    if (queue !== 'delivery' && queue !== 'fan-out') return c.notFound();
    const values = await formOf(c);
    const ids = all(values, 'id').filter((id) => id.trim() !== '');
    const action = str(values, 'action');
    if (action !== 'redrive' && action !== 'discard') return dlqPage(c, [{ kind: 'error', lines: ['choose Redrive selected or Discard selected'] }], 422);
    if (ids.length === 0) return dlqPage(c, [{ kind: 'error', lines: [`select at least one message of the ${queue} DLQ to ${action}`] }], 422);
    const force = str(values, 'force') === 'yes';
    const includeRejected = str(values, 'include-rejected') === 'yes';
    if (str(values, 'confirm') !== 'yes') return confirmDlq(c, queue, action, ids, { force, includeRejected });
    if (action === 'redrive') {
      const report = await run((cl) => redriveIn(cl, queue as Queue, { ids, force: queue === 'delivery' ? force : undefined, includeRejected: queue === 'fan-out' ? includeRejected : undefined }));
      const failed = report.failed.length > 0 || (report.moved.length === 0 && report.inactive > 0);
      const lines = redriveLines(queue, report);
      const notices: Notice[] = [{ kind: failed ? 'error' : 'ok', lines }];
      // A job left parked is one of the report's lines already (the CLI prints it on stdout and warns on stderr): once on a page.
      const warnings = [...report.warnings.filter((w) => !lines.includes(w)), ...(report.unreleased > 0 ? [`${report.unreleased} message(s) could not be made visible again; they reappear by themselves within ${REDRIVE_VISIBILITY_SECONDS}s`] : [])];
      if (warnings.length) notices.push({ kind: 'warning', lines: warnings.map((w) => `warning: ${w}`) });
      return dlqPage(c, notices, failed ? 409 : 200);
    }
    const warned: string[] = [];
    const { report, logMarked } = await run((cl) => discardIn(cl, queue, { ids }, async () => true, (line) => void warned.push(line)));
    const notices: Notice[] = [{ kind: report.failed.length > 0 || report.discarded.length === 0 ? 'error' : 'ok', lines: discardLines(queue, report, logMarked) }];
    const warnings = [...discardWarnings(queue, report), ...warned];
    if (warnings.length) notices.push({ kind: 'warning', lines: warnings.map((w) => `warning: ${w}`) });
    return dlqPage(c, notices);
  });

  const confirmDlq = (c: Context, queue: Queue, action: 'redrive' | 'discard', ids: string[], flags: { force: boolean; includeRejected: boolean }) => {
    const n = ids.length;
    const what = plural(n, 'message');
    // Back to the list it came from (all, one tenant's, one subscription's).
    const query = dlqQuery(c.req.query('tenant'), c.req.query('subscription'));
    const back = `/dlq${query}`;
    const body = html`<p class="crumbs"><a href="${back}">Dead letters</a> › confirm</p>
<h1>${action === 'redrive' ? `Redrive ${what} from the ${queue} DLQ?` : `Discard ${what} from the ${queue} DLQ for good?`}</h1>
<p>${
      action === 'redrive'
        ? queue === 'delivery'
          ? 'They go back to the delivery queue with the same webhook-id; attempts start again.' +
            (flags.force ? ' Jobs of paused, disabled or deleted subscriptions move too (--force).' : ' Jobs of subscriptions that are not active stay parked.')
          : 'They run through fan-out again with their original event ids, so their deliveries keep their webhook-ids.'
        : 'Deleted messages are gone for good (redrive brings back what is worth another try).'
    }</p>
<ul class="ids">${ids.map((id) => html`<li class="mono">${id}</li>`)}</ul>
${postForm(
  ctx,
  `/dlq/${queue}${query}`,
  html`${ids.map((id) => html`<input type="hidden" name="id" value="${id}">`)}<input type="hidden" name="action" value="${action}"><input type="hidden" name="confirm" value="yes">
${flags.force ? html`<input type="hidden" name="force" value="yes">` : ''}${flags.includeRejected ? html`<input type="hidden" name="include-rejected" value="yes">` : ''}
<button type="submit"${action === 'discard' ? html` class="danger"` : ''}>${action === 'redrive' ? `Yes, redrive ${what}` : `Yes, discard ${what}`}</button> <a href="${back}">Cancel</a>`,
  { label: `Confirm ${action}` },
)}`;
    return page(c, `Confirm ${action}`, '/dlq', body);
  };

  // ---- Send test event ------------------------------------------------------------------
  const sendPage = (c: Context, values: FormValues, errors: FieldErrors = {}, notices: Notice[] = [], status: 200 | 409 | 422 = 200, extra: Html | string = '') => {
    const type = str(values, 'type') ?? EVENT_NAMES[0]!;
    const body = html`<h1>Send a test event</h1>${extra}
<p class="muted">Builds a status-change event, checks it as fan-out will and puts it on the bus (PutEvents), like <code>statushooks events send</code>. Every active subscription of the tenant that wants it gets a delivery.</p>
<section aria-labelledby="send-h"><h2 id="send-h">Event</h2>
${postForm(
  ctx,
  '/send',
  html`<div class="grid">
${select({ name: 'type', label: 'Event type', value: type, choices: EVENT_NAMES, error: errors.type })}
${field({ name: 'tenant', label: 'Tenant', value: str(values, 'tenant'), error: errors.tenant, required: true })}
${field({ name: 'old', label: 'Old status', value: str(values, 'old') ?? 'approved', error: errors.old })}
${field({ name: 'new', label: 'New status', value: str(values, 'new') ?? 'received', error: errors.new })}
${field({ name: 'uuid', label: 'Entity uuid', value: str(values, 'uuid') ?? randomUUID(), error: errors.uuid, help: 'the uuid of the order, parcel or payment' })}
${field({ name: 'number', label: 'Entity number', value: str(values, 'number'), error: errors.number, help: 'optional' })}
${field({ name: 'external-id', label: 'External id', value: str(values, 'external-id'), error: errors['external-id'], help: 'optional' })}
${field({ name: 'source', label: 'Source', value: str(values, 'source') ?? DEFAULTS.sources[0], error: errors.source, help: 'the EventBridge source' })}
</div><button type="submit">Send event</button>`,
  { label: 'Send a test event' },
)}</section>`;
    return page(c, 'Send test event', '/send', body, notices, status);
  };

  app.get('/send', (c) => sendPage(c, c.req.query('tenant') ? { tenant: c.req.query('tenant')! } : {}));

  app.post('/send', async (c) => {
    const values = await formOf(c);
    try {
      const event = checkEvent({
        type: str(values, 'type') ?? '',
        source: str(values, 'source') ?? '',
        tenant: str(values, 'tenant') ?? '',
        old: str(values, 'old') ?? '',
        new: str(values, 'new') ?? '',
        uuid: str(values, 'uuid') ?? '',
        number: given(values, 'number'),
        externalId: given(values, 'external-id'),
      });
      const sent = await run((cl) => sendEventIn(cl, event));
      const tenantId = String(event.detail.tenantId);
      const notices: Notice[] = [{ kind: 'ok', lines: [`sent ${event.type} for tenant ${tenantId}: event ${sent.eventId}`] }];
      if (sent.warnings.length) notices.push({ kind: 'warning', lines: sent.warnings.map((w) => `warning: ${w}`) });
      // A fresh uuid for the next event; the other fields stay for another try.
      const link = html`<p class="sent"><a href="${tenantHref(tenantId)}">Watch the deliveries of tenant ${tenantId}</a></p>`;
      return sendPage(c, { ...values, uuid: randomUUID() }, {}, notices, 200, link);
    } catch (error) {
      if (error instanceof UsageError) return sendPage(c, values, fieldErrors(error), [errorNotice(error)], 422);
      if (error instanceof CliError) return sendPage(c, values, {}, [errorNotice(error)], 409);
      throw error;
    }
  });

  return { app, close: () => clients.destroy() };
}

/** `?tenant=…&subscription=…` of the dead-letter page: the filters given, or nothing. */
function dlqQuery(tenant?: string, subscription?: string): string {
  const params = new URLSearchParams();
  if (tenant) params.set('tenant', tenant);
  if (subscription) params.set('subscription', subscription);
  const query = params.toString();
  return query === '' ? '' : `?${query}`;
}

function stateButton(ctx: PageContext, tenantId: string, s: Subscription): Html {
  const base = subscriptionHref(tenantId, s.subscriptionId);
  // The answer comes back to the tenant page the button was on.
  const from = html`<input type="hidden" name="from" value="tenant">`;
  return s.state === 'active'
    ? postForm(ctx, `${base}/pause`, html`${from}<button type="submit" class="small">Pause</button>`, { className: 'inline' })
    : postForm(ctx, `${base}/resume`, html`${from}<button type="submit" class="small">Resume</button>`, { className: 'inline' });
}

/** The newest 2xx attempt per subscription among `records`. */
function lastSuccesses(records: readonly DeliveryRecord[]): Map<string, string> {
  const last = new Map<string, string>();
  for (const r of records) {
    for (const a of r.attempts) {
      if (a.statusCode === null || a.statusCode < 200 || a.statusCode >= 300) continue;
      const before = last.get(r.subscriptionId);
      if (before === undefined || a.at > before) last.set(r.subscriptionId, a.at);
    }
  }
  return last;
}

function prettyJson(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

