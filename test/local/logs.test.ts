import { formatAttempt, formatNextAttempt, parseFunctionLine } from '../../local/logs';

/** A line as the delivery function prints it (Powertools Logger JSON). */
const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 'INFO', timestamp: '2026-12-04T21:00:00.000Z', service: 'statushooks', ...fields });
const attempt = { event: 'return_order.status.changed', deliveryId: 'msg_1', subscriptionId: 'sub_c7ec1234abcd', tenantId: 'acme-shop', lane: 'fast' };

function shown(text: string): string | undefined {
  const entry = parseFunctionLine(text);
  if (entry.kind === 'delivery-attempt') return formatAttempt(entry.attempt);
  return entry.kind === 'log' ? formatNextAttempt(entry) : undefined;
}

describe('the runtime\'s delivery lines', () => {
  test('a failed attempt reads "failed", and the decision after it gets a line of its own: the next attempt with its delay', () => {
    expect(shown(line({ message: 'delivery attempt', ...attempt, attempt: 1, statusCode: 500, durationMs: 3.2, outcome: 'retryable' }))).toBe('→ return_order.status.changed sub_c7ec attempt 1: 500 in 3 ms (failed)');
    expect(shown(line({ message: 'delivery continues in the retry lane', ...attempt, attempt: 1, from: 'fast', delaySeconds: 60, nextAttempt: 2, reason: 'attempt 1 failed (HTTP 500)' }))).toBe(
      '  ↻ return_order.status.changed sub_c7ec attempt 2 in 60 s',
    );
  });

  test('a job that waits without an attempt (rate limit, open circuit) keeps its attempt number and says why it waits', () => {
    expect(
      shown(line({ message: 'delivery continues in the retry lane', ...attempt, attempt: 1, from: 'fast', delaySeconds: 2, nextAttempt: 1, reason: 'waits (not an attempt): rate limit of 1 request per second reached' })),
    ).toBe('  ↻ return_order.status.changed sub_c7ec attempt 1 in 2 s (waits: rate limit of 1 request per second reached)');
  });

  test('the last failed attempt does not claim to be retryable; a success and a timeout read as before', () => {
    expect(shown(line({ message: 'delivery attempt', ...attempt, attempt: 5, statusCode: 503, durationMs: 1, outcome: 'retryable' }))).not.toMatch(/retry/);
    expect(shown(line({ message: 'delivery attempt', ...attempt, attempt: 2, error: 'timeout', outcome: 'retryable' }))).toBe('→ return_order.status.changed sub_c7ec attempt 2: timeout (failed)');
    expect(shown(line({ message: 'delivery attempt', ...attempt, attempt: 1, statusCode: 204, durationMs: 2, outcome: 'delivered' }))).toBe('→ return_order.status.changed sub_c7ec attempt 1: 204 in 2 ms');
    expect(shown(line({ message: 'delivery attempt', ...attempt, attempt: 1, statusCode: 410, durationMs: 2, outcome: 'gone' }))).toBe('→ return_order.status.changed sub_c7ec attempt 1: 410 in 2 ms (gone)');
  });

  test('other INFO lines of the functions stay in the log file only', () => {
    expect(shown(line({ message: 'circuit closed: the endpoint answered again', ...attempt }))).toBeUndefined();
    expect(shown(line({ message: 'delivery will be retried', ...attempt, delaySeconds: 5 }))).toBeUndefined();
  });
});
