import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { ALL_EVENTS, EVENT_NAMES, closestEventName, isEventName, type EventName } from '../lambdas/core/catalog';
import type { EndpointPolicy } from '../lambdas/core/config';
import { checkUrl } from '../lambdas/core/endpoint-guard';
import { EndpointBlockedError } from '../lambdas/core/errors';
import { UsageError } from './cli-errors';

/** Parsers of option values. Each throws UsageError with a message naming the option. */

export function nonEmpty(option: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new UsageError(`${option} must not be empty`);
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
