import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { ALL_EVENTS, EVENT_NAMES, closestEventName, isEventName, type EventName } from '../lambdas/core/catalog';
import type { EndpointPolicy } from '../lambdas/core/config';
import { checkUrl } from '../lambdas/core/endpoint-guard';
import { EndpointBlockedError } from '../lambdas/core/errors';
import { FIELD_LIMITS } from '../lambdas/core/events';
import { codePointName, uncarriableReason } from '../lambdas/core/sqs-text';
import { lengthExcess } from '../lambdas/core/text';
import { UsageError } from './cli-errors';
import { firstControl } from './output';

/** Parsers of option values. Each throws UsageError with a message naming the option. */

export function nonEmpty(option: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new UsageError(`${option} must not be empty`);
  return trimmed;
}

/**
 * `--tenant`: by the rules events apply to detail.tenantId (not empty or only whitespace, at most
 * FIELD_LIMITS.tenantId characters, no character webhooks cannot carry), so the CLI never writes or
 * looks for a tenant no event could name. Surrounding whitespace is dropped, as for every option.
 */
export function parseTenant(option: string, text: string): string {
  const tenant = nonEmpty(option, text);
  const tooLong = lengthExcess(tenant, FIELD_LIMITS.tenantId);
  if (tooLong !== null) throw new UsageError(`${option} ${tooLong} (the longest tenantId an event can carry)`);
  const reason = uncarriableReason(tenant);
  if (reason !== null) throw new UsageError(`${option} ${reason}`);
  return tenant;
}

/**
 * A one-line note such as `--description`: not empty, and no control character (C0 such as
 * newline, tab or ESC; DEL; C1), which would break the rows of `list` and reach terminals as is.
 */
export function parseOneLine(option: string, text: string): string {
  const trimmed = nonEmpty(option, text);
  const control = firstControl(trimmed);
  if (control !== undefined) {
    throw new UsageError(`${option} contains the control character ${codePointName(control.charCodeAt(0))} (a newline, tab, terminal escape code or the like); write it on one line without control characters`);
  }
  return trimmed;
}

/** `a,b` → event names; `*` → all five. Unknown names get a "did you mean". */
export function parseEventList(option: string, text: string): string[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`${option} has an empty value in "${text}"; list event names separated by commas, or "*"`);
  if (parts.includes(ALL_EVENTS)) {
    if (parts.length > 1) throw new UsageError(`${option}: use either "*" or a list of event names, not both`);
    return [ALL_EVENTS];
  }
  for (const p of parts) {
    if (!isEventName(p)) throw new UsageError(unknownEventMessage(p, option));
  }
  return [...new Set(parts)];
}

export function parseEventName(option: string, text: string): EventName {
  if (!isEventName(text)) throw new UsageError(unknownEventMessage(text, option));
  return text;
}

export function unknownEventMessage(name: string, option: string): string {
  return `${option}: unknown event "${name}" (did you mean "${closestEventName(name)}"?); known events: ${EVENT_NAMES.join(', ')}`;
}

/** `delivered,cancelled` → statuses; empty values (`a,,b`, `""`, `a,`) are refused. */
export function parseStatusFilter(option: string, text: string): string[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) {
    throw new UsageError(`${option} has an empty status value in "${text}"; list statuses separated by commas (use --no-status-filter to remove the filter)`);
  }
  return [...new Set(parts)];
}

/** Validates a subscription URL with the same guard the delivery function uses, under the target's policy. */
export function parseSubscriptionUrl(option: string, raw: string, policy: EndpointPolicy, targetKind: 'local' | 'stack'): string {
  try {
    return checkUrl(raw.trim(), policy).toString();
  } catch (error) {
    if (!(error instanceof EndpointBlockedError)) throw error;
    const hint =
      targetKind === 'stack' && (!policy.allowHttp || !policy.allowPrivate)
        ? ' (a deployed stack refuses plain http and private hosts unless deployed with allowHttpEndpoints / allowPrivateEndpoints, which its outputs AllowHttpEndpoints / AllowPrivateEndpoints show)'
        : '';
    throw new UsageError(`${option}: ${error.message}${hint}`);
  }
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Longest rotation grace accepted: a forgotten previous secret should not sign for months. */
export const MAX_GRACE_MS = 30 * UNIT_MS.d;

/** `30m`, `24h`, `7d`, `90s`, `0s` → milliseconds. */
export function parseDuration(option: string, text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new UsageError(`${option}: malformed duration "${text}"; use a whole number with a unit s, m, h or d, e.g. 30m, 24h, 7d`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms > MAX_GRACE_MS) throw new UsageError(`${option}: ${text} is longer than the maximum of 30d`);
  return ms;
}

/** Days of `month` (1–12) in `year`, leap years included. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})/;
const CLOCK_TIME = /(\d{1,2}):(\d{2})(?::(\d{2}))?/;

/**
 * Why the date and time written in `text` do not exist, or undefined. Date.parse rolls a day past
 * the month's end over into the next month (`2026-11-31` is 2026-12-01, `2026-02-30` 2026-03-02)
 * and takes hour 24 as the next day's midnight: each part is checked against the calendar first.
 */
function nonExistentTime(text: string): string | undefined {
  const date = CALENDAR_DATE.exec(text);
  if (!date) return undefined;
  const [year, month, day] = date.slice(1, 4).map(Number) as [number, number, number];
  if (month < 1 || month > 12) return `month ${date[2]} does not exist (01–12)`;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return `${date[0]} does not exist (${MONTHS[month - 1]} ${year} has ${days} days)`;
  const time = CLOCK_TIME.exec(text.slice(date[0].length));
  if (!time) return undefined;
  const [hour, minute, second] = time.slice(1, 4).map((t) => (t === undefined ? 0 : Number(t))) as [number, number, number];
  if (hour > 23) return `hour ${time[1]} does not exist (00–23)`;
  if (minute > 59) return `minute ${time[2]} does not exist (00–59)`;
  if (second > 59) return `second ${time[3]} does not exist (00–59)`;
  return undefined;
}

/**
 * `--since` / `--until`: a duration back from `now` (`30m`, `2h`, `7d`, at most 30d) or an ISO time
 * (`2026-12-03`, `2026-12-03T10:00:00Z`, with or without a zone) that exists and is not in the
 * future; epoch milliseconds.
 */
export function parseSince(option: string, text: string, now: number): number {
  const trimmed = text.trim();
  if (/^\d+[smhd]$/.test(trimmed)) return now - parseDuration(option, trimmed);
  const impossible = nonExistentTime(trimmed);
  if (impossible !== undefined) throw new UsageError(`${option}: ${impossible}, got "${text}"`);
  const at = CALENDAR_DATE.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (!Number.isFinite(at)) throw new UsageError(`${option}: expected a duration such as 30m, 24h, 7d or an ISO time such as 2026-12-03T10:00:00Z, got "${text}"`);
  if (at > now) throw new UsageError(`${option}: ${text} is in the future`);
  return at;
}

/** A commander argument parser for counts such as --limit and --max. */
export function positiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${text}"`);
  return n;
}

/** A webhook-timestamp: whole unix seconds, as the header carries them (`1732812345`). */
export function parseUnixSeconds(option: string, text: string): string {
  const trimmed = text.trim();
  if (!/^\d{1,12}$/.test(trimmed)) throw new UsageError(`${option}: expected unix seconds (a whole number such as 1732812345), got "${text}"`);
  return trimmed;
}

/** Reads a file, or stdin for `-`. */
export function readInput(option: string, file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`${option} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
