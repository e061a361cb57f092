import { parseRetryAfter } from './retry';

/** What one HTTP attempt produced, as the sender saw it. */
export type AttemptResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly retryAfter?: string;
      readonly durationMs: number;
      /** The start of the response body as the delivery log shows it (core/delivery-log.ts responseSnippet). */
      readonly response?: string | null;
    }
  | { readonly kind: 'error'; readonly error: 'timeout' | 'connection' | 'dns' | 'tls' | 'blocked'; readonly message: string; readonly durationMs: number };

/** How a delivery attempt ended, from the pipeline's point of view. */
export type Outcome =
  | { readonly kind: 'delivered'; readonly status: number }
  /** try again later; `retryAfterSeconds` when the receiver asked for a time */
  | { readonly kind: 'retryable'; readonly reason: string; readonly status?: number; readonly retryAfterSeconds?: number }
  /** 410 Gone: the receiver wants no more deliveries; the subscription is disabled */
  | { readonly kind: 'gone'; readonly reason: string; readonly status: 410 }
  /** the endpoint is refused by policy: retrying cannot help */
  | { readonly kind: 'permanent'; readonly reason: string };

/** Classifies an attempt (docs/architecture.md §4): 2xx succeeds, 410 disables, the rest retries. */
export function classify(result: AttemptResult, now: Date): Outcome {
  if (result.kind === 'error') {
    if (result.error === 'blocked') return { kind: 'permanent', reason: `endpoint blocked: ${result.message}` };
    return { kind: 'retryable', reason: `${result.error}: ${result.message}` };
  }
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status: 410, reason: 'endpoint answered 410 Gone' };
  const retryAfterSeconds = status === 429 || status === 503 ? parseRetryAfter(result.retryAfter, now) : undefined;
  const reason = status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`;
  return retryAfterSeconds === undefined ? { kind: 'retryable', reason, status } : { kind: 'retryable', reason, status, retryAfterSeconds };
}
