import type { Message } from '@aws-sdk/client-sqs';
import { PARKED_ATTRIBUTES, parseJob, type DeliveryJob } from '../lambdas/core/job';

/**
 * Pure readers of dead-letter messages: what `dlq list` shows and what `dlq redrive` moves.
 * They never throw on a strange message; they describe it.
 */

/** One parked delivery job, as operators see it. */
export interface ParkedJob {
  readonly messageId: string;
  readonly deliveryId: string | null;
  readonly eventId: string | null;
  readonly tenantId: string | null;
  readonly subscriptionId: string | null;
  readonly event: string | null;
  /** Attempts made; for jobs moved by SQS redrive, the SQS receive count (it includes receives by `dlq list`). */
  readonly attempts: number | null;
  /** `delivery`: parked by the delivery function with its reason; `sqs-redrive`: moved by SQS after maxReceiveCount. */
  readonly parkedBy: 'delivery' | 'sqs-redrive';
  readonly reason: string;
  readonly parkedAt: string | null;
  readonly ageSeconds: number | null;
}

export type ParkedEventKind = 'rejected-event' | 'failed-event' | 'lambda-failure' | 'rule-target-failure' | 'unknown';

/** One message of the fan-out DLQ, whichever of its three writers produced it. */
export interface ParkedEvent {
  readonly messageId: string;
  readonly kind: ParkedEventKind;
  readonly eventId: string | null;
  readonly tenantId: string | null;
  readonly detailType: string | null;
  readonly source: string | null;
  readonly reason: string;
  readonly attempts: number | null;
  readonly parkedAt: string | null;
  readonly ageSeconds: number | null;
}

/** The original EventBridge event a fan-out DLQ message carries, when it carries a usable one. */
export interface BusEvent {
  readonly id?: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
  readonly time?: string;
  /** The replay it came from (EventBridge marks replayed events): its filter still applies on a redrive. */
  readonly 'replay-name'?: string;
}

function sentAt(message: Message): string | null {
  const ms = Number(message.Attributes?.SentTimestamp);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
}

function ageOf(iso: string | null, now: Date): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, Math.round((now.getTime() - t) / 1000)) : null;
}

function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

function count(text: string | undefined): number | null {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) ? n : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function readParkedJob(message: Message, now: Date): { view: ParkedJob; job: DeliveryJob | null } {
  let job: DeliveryJob | null = null;
  let unreadable: string | undefined;
  try {
    job = parseJob(message.Body ?? '');
  } catch (error) {
    unreadable = (error as Error).message;
  }
  const reasonAttribute = attribute(message, PARKED_ATTRIBUTES.reason);
  const parkedBy = reasonAttribute !== undefined ? 'delivery' : 'sqs-redrive';
  const reason =
    reasonAttribute ?? (unreadable ? `unreadable job: ${unreadable}` : `unknown: moved by SQS redrive after maxReceiveCount receives, no reason recorded`);
  const parkedAt = attribute(message, PARKED_ATTRIBUTES.parkedAt) ?? sentAt(message);
  const view: ParkedJob = {
    messageId: message.MessageId ?? '',
    deliveryId: job?.deliveryId ?? null,
    eventId: job?.eventId ?? null,
    tenantId: job?.tenantId ?? null,
    subscriptionId: job?.subscriptionId ?? null,
    event: job?.event ?? null,
    attempts: count(attribute(message, PARKED_ATTRIBUTES.attempts)) ?? count(message.Attributes?.ApproximateReceiveCount),
    parkedBy,
    reason,
    parkedAt,
    ageSeconds: ageOf(parkedAt, now),
  };
  return { view, job };
}

function busEventOf(value: unknown): BusEvent | null {
  if (!isRecord(value)) return null;
  const source = str(value.source);
  const detailType = str(value['detail-type']);
  if (source === null || detailType === null || !('detail' in value)) return null;
  const replayName = str(value['replay-name']);
  return { id: str(value.id) ?? undefined, source, 'detail-type': detailType, detail: value.detail, time: str(value.time) ?? undefined, ...(replayName === null ? {} : { 'replay-name': replayName }) };
}

export function readParkedEvent(message: Message, now: Date): { view: ParkedEvent; event: BusEvent | null } {
  let body: unknown;
  try {
    body = JSON.parse(message.Body ?? '');
  } catch {
    body = undefined;
  }
  let kind: ParkedEventKind = 'unknown';
  let original: unknown = body;
  let reason = 'unknown message shape';
  let attempts: number | null = null;
  let parkedAt: string | null = sentAt(message);
  const errorCode = attribute(message, 'ERROR_CODE');

  if (isRecord(body) && (body.kind === 'rejected-event' || body.kind === 'failed-event')) {
    // Written by fan-out: an event that failed validation, or one whose fan-out failed and whose
    // failure record Lambda could not have put here (it parked it itself).
    kind = body.kind;
    original = body.event;
    reason = str(body.reason) ?? 'rejected (no reason recorded)';
    parkedAt = str(body.rejectedAt) ?? parkedAt;
  } else if (isRecord(body) && isRecord(body.requestContext) && 'requestPayload' in body) {
    // Lambda's async on-failure destination record: the invocation failed after its retries.
    kind = 'lambda-failure';
    original = body.requestPayload;
    const response = isRecord(body.responsePayload) ? body.responsePayload : {};
    const error = [str(response.errorType), str(response.errorMessage)].filter(Boolean).join(': ');
    reason = [str(body.requestContext.condition), error].filter(Boolean).join(': ') || 'invocation failed';
    attempts = typeof body.requestContext.approximateInvokeCount === 'number' ? body.requestContext.approximateInvokeCount : null;
    parkedAt = str(body.timestamp) ?? parkedAt;
  } else if (errorCode !== undefined || busEventOf(body)) {
    // EventBridge's rule-target DLQ: the body is the event, the error travels as attributes.
    kind = 'rule-target-failure';
    reason = [errorCode, attribute(message, 'ERROR_MESSAGE')].filter(Boolean).join(': ') || 'target invocation failed (no reason recorded)';
    attempts = count(attribute(message, 'RETRY_ATTEMPTS'));
  } else if (body === undefined) {
    reason = 'unreadable message body (not JSON)';
  }

  const event = busEventOf(original);
  const rawEvent = isRecord(original) ? original : {};
  const detail = isRecord(rawEvent.detail) ? rawEvent.detail : {};
  const view: ParkedEvent = {
    messageId: message.MessageId ?? '',
    kind,
    eventId: str(rawEvent.id),
    tenantId: str(detail.tenantId),
    detailType: str(rawEvent['detail-type']),
    source: str(rawEvent.source),
    reason,
    attempts,
    parkedAt,
    ageSeconds: ageOf(parkedAt, now),
  };
  return { view, event };
}
