import { stringifyJson } from './json';
import { isHighSurrogate, isLowSurrogate, truncateText } from './text';

/**
 * SQS's character rule, in one place. A message body and a String message attribute may hold
 * only `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF`; anything else (C0
 * controls other than tab/LF/CR, U+FFFE, U+FFFF, unpaired surrogates) makes SendMessage fail
 * with InvalidMessageContents. Everything statushooks writes to SQS goes through `toSqsText`,
 * `sqsSafeJsonText` or `sqsSafeAttribute`; the fields it forwards to webhooks are refused at
 * validation when `firstUncarriable` finds such a character.
 */

/** SQS's hard limit for one message, body and attributes together. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

// Without the `u` flag a regex sees UTF-16 code units: a pair matches neither surrogate branch.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNCARRIABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const FIRST_UNCARRIABLE = new RegExp(UNCARRIABLE.source);

/** `U+FFFF`: how a code point (or lone surrogate code unit) is named in reasons. */
export function codePointName(unit: number): string {
  return `U+${unit.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The first character SQS refuses in `text`, as its code unit (a lone surrogate as itself), or null. */
export function firstUncarriable(text: string): number | null {
  const match = FIRST_UNCARRIABLE.exec(text);
  return match ? match[0].charCodeAt(0) : null;
}

/** Why a forwarded field is refused, or null: `contains U+FFFF, a character webhooks cannot carry`. */
export function uncarriableReason(text: string): string | null {
  const unit = firstUncarriable(text);
  if (unit === null) return null;
  const surrogate = unit >= 0xd800 && unit <= 0xdfff ? ' (an unpaired surrogate)' : '';
  return `contains ${codePointName(unit)}${surrogate}, a character webhooks cannot carry`;
}

/**
 * Writes every character SQS refuses as the six characters `\uXXXX`. Inside JSON text that is
 * lossless (in valid JSON such characters occur only inside strings, where `\uXXXX` is the same
 * character to JSON.parse); in plain text it is a visible, reversible marker.
 */
export function escapeUncarriable(text: string): string {
  return text.replace(UNCARRIABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** JSON text of `value` that SQS accepts and JSON.parse turns back into exactly `value`, at any depth. */
export function toSqsText(value: unknown): string {
  return escapeUncarriable(stringifyJson(value));
}

/** JSON text (e.g. a message body read back from a queue) made safe to send again, same JSON value. */
export function sqsSafeJsonText(text: string): string {
  return escapeUncarriable(text);
}

/**
 * A String message attribute value (e.g. a park reason) SQS accepts: every character it refuses
 * is written as the six characters `\uXXXX`, as in bodies, so an operator still sees which
 * character it was (a reason can quote producer input, e.g. an unknown detail-type). With
 * `maxChars` the text is first cut between code points (a cut pair would leave a lone surrogate).
 */
export function sqsSafeAttribute(text: string, maxChars = Number.POSITIVE_INFINITY): string {
  return escapeUncarriable(truncateText(text, maxChars));
}

/**
 * Room Lambda's on-failure record needs around the event it carries: the request and response
 * context and the error with its stack trace (a few KB; the function's errors are short).
 */
export const FAILURE_RECORD_HEADROOM_BYTES = 16 * 1024;

/**
 * Why an SQS failure destination could not take Lambda's record of a failed invocation with this
 * payload, or null. Lambda writes the payload into the record as it came, as JSON (which escapes
 * control characters and lone surrogates, but not U+FFFE or U+FFFF), and SQS refuses a record
 * holding such a character or over 256 KiB; Lambda then drops it (its `DestinationDeliveryFailures`
 * metric), and the event is lost.
 */
export function failureRecordRefusal(payload: unknown): string | null {
  const text = stringifyJson(payload);
  const unit = firstUncarriable(text);
  if (unit !== null) return `the event holds ${codePointName(unit)}, which an SQS message cannot carry`;
  const bytes = utf8Length(text);
  if (bytes > SQS_MAX_MESSAGE_BYTES - FAILURE_RECORD_HEADROOM_BYTES) return `the event is ${bytes} bytes, too big for an SQS message with the error around it`;
  return null;
}

/** Bytes of `text` in UTF-8, what SQS counts (a lone surrogate counts as the 3-byte U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (isHighSurrogate(unit) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
