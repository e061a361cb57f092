/**
 * What the functions print, made readable: the handlers log JSON (Powertools Logger) and metrics
 * as EMF JSON. The runtime keeps all of it in a log file and shows one line per delivery attempt,
 * plus warnings and errors, on the console.
 */

/** One webhook attempt, as the delivery handler logs it ("delivery attempt"). */
export interface DeliveryAttempt {
  readonly event: string;
  readonly deliveryId: string;
  readonly subscriptionId: string;
  readonly attempt: number;
  readonly statusCode?: number;
  readonly durationMs?: number;
  readonly outcome: string;
  readonly error?: string;
}

export type FunctionLogEntry =
  | { readonly kind: 'delivery-attempt'; readonly attempt: DeliveryAttempt }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'log'; readonly level: string; readonly message: string; readonly fields: Record<string, unknown> }
  | { readonly kind: 'text'; readonly text: string };

export function parseFunctionLine(line: string): FunctionLogEntry {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return { kind: 'text', text: line };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { kind: 'text', text: line };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { kind: 'text', text: line };
  const fields = parsed as Record<string, unknown>;
  if ('_aws' in fields && typeof fields._aws === 'object') return { kind: 'metrics' };
  const message = typeof fields.message === 'string' ? fields.message : '';
  if (message === 'delivery attempt') {
    return {
      kind: 'delivery-attempt',
      attempt: {
        event: String(fields.event ?? '?'),
        deliveryId: String(fields.deliveryId ?? '?'),
        subscriptionId: String(fields.subscriptionId ?? '?'),
        attempt: Number(fields.attempt ?? 0),
        statusCode: typeof fields.statusCode === 'number' ? fields.statusCode : undefined,
        durationMs: typeof fields.durationMs === 'number' ? fields.durationMs : undefined,
        outcome: String(fields.outcome ?? ''),
        error: typeof fields.error === 'string' ? fields.error : undefined,
      },
    };
  }
  const level = String(fields.level ?? fields.logLevel ?? 'INFO').toUpperCase();
  return { kind: 'log', level, message, fields };
}

const shortSubscription = (id: string) => (id.startsWith('sub_') ? id.slice(0, 8) : id.slice(0, 12));

/**
 * What an attempt's outcome says about the attempt alone. Whether a failed one is tried again or
 * parked is decided after it, and shown on a line of its own (`formatNextAttempt`, or the parking
 * warning): so a failure reads "failed", never "retryable" on the attempt that is then the last.
 */
const OUTCOME_NOTES: Readonly<Record<string, string>> = { retryable: 'failed', permanent: 'refused by policy, not retried' };

/** `→ return_order.status.changed sub_ab12 attempt 1: 200 in 12 ms` */
export function formatAttempt(a: DeliveryAttempt): string {
  const status = a.statusCode !== undefined ? String(a.statusCode) : a.error ? a.error : a.outcome || 'no response';
  const duration = a.durationMs !== undefined ? ` in ${Math.round(a.durationMs)} ms` : '';
  const note = a.outcome && !/^(delivered|success|succeeded|ok)$/i.test(a.outcome) ? ` (${OUTCOME_NOTES[a.outcome] ?? a.outcome})` : '';
  return `→ ${a.event} ${shortSubscription(a.subscriptionId)} attempt ${a.attempt}: ${status}${duration}${note}`;
}

/**
 * `  ↻ return_order.status.changed sub_ab12 attempt 2 in 60 s`: the delivery function's INFO line
 * that a failed job goes on (its only INFO line the runtime shows); undefined for any other line.
 */
export function formatNextAttempt(entry: Extract<FunctionLogEntry, { kind: 'log' }>): string | undefined {
  if (entry.message !== 'delivery continues in the retry lane') return undefined;
  const f = entry.fields;
  const attempt = typeof f.nextAttempt === 'number' ? ` attempt ${f.nextAttempt}` : '';
  const delay = typeof f.delaySeconds === 'number' ? ` in ${f.delaySeconds} s` : '';
  // A job that waits without an attempt (circuit open, rate limit, …) says why.
  const why = typeof f.reason === 'string' && f.reason.startsWith('waits (not an attempt): ') ? ` (waits: ${f.reason.slice('waits (not an attempt): '.length)})` : '';
  return `  ↻ ${String(f.event ?? '?')} ${shortSubscription(String(f.subscriptionId ?? '?'))}${attempt}${delay}${why}`;
}

/** A warning or error of a handler, on one line: `! fan-out WARN invalid event parked (reason=...)`. */
export function formatProblem(functionName: string, entry: Extract<FunctionLogEntry, { kind: 'log' }>): string {
  const details: string[] = [];
  for (const key of ['reason', 'error', 'eventId', 'deliveryId', 'subscriptionId']) {
    const v = entry.fields[key];
    if (v !== undefined) details.push(`${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return `! ${functionName} ${entry.level}: ${entry.message}${details.length ? ` (${details.join(', ')})` : ''}`;
}
