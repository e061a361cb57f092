import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { DeliveryRecord } from '../../lambdas/core/delivery-log';
import { healthColumn, type DisabledBy, type HealthView } from '../health-view';
import { CSRF_FIELD } from './security';

/**
 * Building blocks of the console's pages. Every value goes through hono's `html` template, which
 * escapes it; only other `html` fragments are inserted as they are. No inline script or style:
 * the CSP forbids them, console.js and console.css do that work.
 */

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageContext {
  readonly csrfToken: string;
  /** `local runtime (.statushooks/dev.json)`, `stack StatusHooks (eu-west-1)`. */
  readonly targetLabel: string;
}

export interface Notice {
  readonly kind: 'ok' | 'error' | 'warning';
  readonly lines: readonly string[];
}

const NAV = [
  ['/', 'Overview'],
  ['/dlq', 'Dead letters'],
  ['/send', 'Send test event'],
] as const;

export function layout(ctx: PageContext, title: string, active: string, body: Html, notices: readonly Notice[] = []): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · statushooks console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/console.css">
<script src="/static/chart.umd.min.js" defer></script>
<script src="/static/console.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">statushooks <span>console</span></a>
  <nav aria-label="Main">${NAV.map(([href, name]) => html`<a href="${href}"${href === active ? raw(' aria-current="page"') : ''}>${name}</a>`)}</nav>
  <span class="target" title="target">${ctx.targetLabel}</span>
</header>
<main>
${notices.map(noticeBox)}
${body}
</main>
</body>
</html>`;
}

export function noticeBox(n: Notice): Html {
  return html`<div class="notice ${n.kind}" role="${n.kind === 'error' ? 'alert' : 'status'}">${n.lines.map((l) => html`<p>${l}</p>`)}</div>`;
}

/** A POST form with the CSRF token. */
export function postForm(ctx: PageContext, action: string, content: Html, attrs: { label?: string; className?: string } = {}): Html {
  return html`<form method="post" action="${action}"${attrs.className ? html` class="${attrs.className}"` : ''}${attrs.label ? html` aria-label="${attrs.label}"` : ''}>
<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrfToken}">${content}</form>`;
}

/** A labelled input with its help and, when validation failed, the error next to it. */
export function field(options: {
  name: string;
  label: string;
  value?: string;
  error?: string;
  help?: string;
  type?: string;
  placeholder?: string;
  required?: boolean;
}): Html {
  const id = `f-${options.name}`;
  const described = [options.help ? `${id}-help` : '', options.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field${options.error ? ' invalid' : ''}">
<label for="${id}">${options.label}</label>
<input id="${id}" name="${options.name}" type="${options.type ?? 'text'}" value="${options.value ?? ''}"${options.placeholder ? html` placeholder="${options.placeholder}"` : ''}${options.required ? raw(' required') : ''}${options.error ? raw(' aria-invalid="true"') : ''}${described ? html` aria-describedby="${described}"` : ''}>
${options.help ? html`<small id="${id}-help">${options.help}</small>` : ''}
${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
</div>`;
}

export function select(options: { name: string; label: string; value: string; choices: readonly string[]; error?: string }): Html {
  const id = `f-${options.name}`;
  return html`<div class="field${options.error ? ' invalid' : ''}">
<label for="${id}">${options.label}</label>
<select id="${id}" name="${options.name}"${options.error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>${options.choices.map(
    (c) => html`<option value="${c}"${c === options.value ? raw(' selected') : ''}>${c}</option>`,
  )}</select>
${options.error ? html`<p class="error" id="${id}-error">${options.error}</p>` : ''}
</div>`;
}

export function checkbox(options: { name: string; label: string; checked?: boolean; value?: string }): Html {
  const id = `f-${options.name}`;
  return html`<div class="check"><input type="checkbox" id="${id}" name="${options.name}" value="${options.value ?? 'yes'}"${options.checked ? raw(' checked') : ''}><label for="${id}">${options.label}</label></div>`;
}

/**
 * A tenant id as a path segment. Browsers resolve the segments `.` and `..` (also written `%2E`)
 * before they send a request, so a tenant named so could never be reached: it, and any tenant
 * starting with `~`, is written with one more `~` in front, which tenantFromSegment removes.
 */
export function tenantSegment(tenantId: string): string {
  const encoded = encodeURIComponent(tenantId);
  return tenantId === '.' || tenantId === '..' || tenantId.startsWith('~') ? `~${encoded}` : encoded;
}

/** The tenant id of a (decoded) path segment written by tenantSegment. */
export function tenantFromSegment(segment: string): string {
  return segment.startsWith('~') ? segment.slice(1) : segment;
}

export const tenantHref = (tenantId: string) => `/tenants/${tenantSegment(tenantId)}`;
export const subscriptionHref = (tenantId: string, subscriptionId: string) => `${tenantHref(tenantId)}/subscriptions/${encodeURIComponent(subscriptionId)}`;
export const deliveryHref = (tenantId: string, deliveryId: string) => `${tenantHref(tenantId)}/deliveries/${encodeURIComponent(deliveryId)}`;

/** A state or health as a coloured badge; the text is the CLI's word for it. */
export function badge(text: string, tone?: string): Html {
  return html`<span class="badge ${tone ?? toneOf(text)}">${text}</span>`;
}

function toneOf(text: string): string {
  if (/^(delivered|active|healthy|closed)/.test(text)) return 'good';
  if (/^(retrying|pending|slow|failing|half-open|paused)/.test(text)) return 'warn';
  if (/^(parked|disabled|open|rejected|gone)/.test(text)) return 'bad';
  return 'muted';
}

export function healthBadge(h: HealthView | undefined, subscription?: DisabledBy): Html {
  return h ? badge(healthColumn(h, subscription)) : badge('?', 'muted');
}

/** The date and time in UTC, `2026-12-04 21:41:31Z`, with the whole ISO time as a tooltip. */
export function time(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">-</span>`;
  return html`<time datetime="${iso}" title="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

/** The last attempt's result in one cell, as `deliveries list` shows it: `200`, `timeout`, `-`. */
export function lastResult(r: DeliveryRecord): string {
  const last = r.attempts[r.attempts.length - 1];
  if (!last) return '-';
  return last.statusCode !== null ? String(last.statusCode) : (last.error ?? '?').split(':')[0]!;
}

/**
 * The rows of a delivery table; the live list replaces them in place. `failuresOnly`: the stack's
 * delivery log records failed deliveries only (setting `deliveryLog` = `failures`).
 */
export function deliveryRows(records: readonly DeliveryRecord[], showSubscription: boolean, failuresOnly = false): Html {
  if (records.length === 0) return html`<tr><td colspan="${showSubscription ? 7 : 6}" class="empty">${failuresOnly ? 'no failed deliveries yet' : 'no deliveries yet'}</td></tr>`;
  return html`${records.map(
    (r) => html`<tr data-delivery="${r.deliveryId}">
<td>${time(r.createdAt)}</td>
<td><a href="${deliveryHref(r.tenantId, r.deliveryId)}" class="mono">${r.deliveryId}</a></td>
${showSubscription ? html`<td><a href="${subscriptionHref(r.tenantId, r.subscriptionId)}" class="mono">${r.subscriptionId}</a></td>` : ''}
<td>${r.event}</td>
<td>${badge(r.state)}</td>
<td class="num">${r.attempts.length}</td>
<td>${lastResult(r)}</td>
</tr>`,
  )}`;
}

/** A live delivery table: console.js polls `src` and swaps the rows when they change. */
export function deliveryTable(records: readonly DeliveryRecord[], src: string, showSubscription: boolean, failuresOnly = false): Html {
  return html`<table class="deliveries" aria-label="Deliveries">
${failuresOnly ? html`<caption>This stack records failed deliveries only (<code>deliveryLog</code> = <code>failures</code>): a delivery that succeeded at its first attempt is counted in the metrics and not listed here.</caption>` : ''}
<thead><tr><th>Created</th><th>Delivery (webhook-id)</th>${showSubscription ? html`<th>Subscription</th>` : ''}<th>Event</th><th>State</th><th class="num">Attempts</th><th>Last result</th></tr></thead>
<tbody data-live-src="${src}" aria-live="polite">${deliveryRows(records, showSubscription, failuresOnly)}</tbody>
</table>`;
}

export function definitionList(entries: readonly (readonly [string, Html | string])[]): Html {
  return html`<dl class="facts">${entries.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}
