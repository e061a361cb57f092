/**
 * SQS's character rule, applied in fauxqs as AWS applies it (fauxqs 1.9.2 internals, patched in
 * memory when the emulator host loads fauxqs; nothing under node_modules is changed).
 *
 * AWS accepts `#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF` in a message
 * body and in String/Number attribute values. fauxqs's check lacks the regex `u` flag, so every
 * character above U+FFFF (an emoji in a status) is refused locally although AWS delivers it, and
 * it does not check attribute values at all, so it accepts what AWS refuses.
 */

/** A character SQS refuses: anything outside the XML 1.0 character ranges (code points, not UTF-16 units). */
// eslint-disable-next-line no-control-regex
export const INVALID_SQS_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export const INVALID_CHARACTERS_MESSAGE = 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF and #xE000 to #xFFFD and #x10000 to #x10FFFF.';

interface AttributeValue {
  DataType?: unknown;
  StringValue?: unknown;
}

/** The first attribute whose string value SQS would refuse, if any. */
export function invalidAttribute(attributes: unknown): string | undefined {
  if (attributes === null || typeof attributes !== 'object') return undefined;
  for (const [name, value] of Object.entries(attributes as Record<string, AttributeValue>)) {
    if (typeof value?.StringValue === 'string' && INVALID_SQS_CHARACTER.test(value.StringValue)) return name;
  }
  return undefined;
}

export function attributeMessage(name: string): string {
  return `Message (user) attribute '${name}' value contains invalid characters. ${INVALID_CHARACTERS_MESSAGE.replace('Invalid characters found. ', '')}`;
}

type Handler = (body: Record<string, unknown>, store: unknown, request: unknown) => unknown;
interface SqsErrorClass {
  new (code: string, message: string): Error;
}
interface FauxqsInternals {
  /** `INVALID_MESSAGE_BODY_CHAR` of dist/sqs/sqsTypes.js, used by SendMessage and SendMessageBatch. */
  readonly bodyCheck: RegExp;
  /** `SqsRouter` of dist/sqs/sqsRouter.js. */
  readonly router: { prototype: { register(action: string, handler: Handler): void } };
  readonly SqsError: SqsErrorClass;
  /** `VALID_BATCH_ENTRY_ID` of dist/sqs/sqsTypes.js. */
  readonly batchEntryId: RegExp;
}

/**
 * Installs the rule. Must run before fauxqs's `buildApp` (the router registers its handlers
 * there). The module instances are the ones fauxqs's own imports resolve to, so the patch applies.
 */
export function applySqsCharacterRule(fauxqs: FauxqsInternals): void {
  // fauxqs calls only `.test()` on its check; give it the real rule.
  Object.defineProperty(fauxqs.bodyCheck, 'test', { value: (text: string) => INVALID_SQS_CHARACTER.test(text), configurable: true });

  const register = fauxqs.router.prototype.register;
  fauxqs.router.prototype.register = function (this: unknown, action: string, handler: Handler) {
    const wrapped: Handler =
      action === 'SendMessage'
        ? (body, ...rest) => {
            const bad = invalidAttribute(body?.MessageAttributes);
            if (bad !== undefined) throw new fauxqs.SqsError('InvalidParameterValue', attributeMessage(bad));
            return handler(body, ...rest);
          }
        : action === 'SendMessageBatch'
          ? (body, ...rest) => sendBatchCheckingAttributes(fauxqs.batchEntryId, handler, body, rest)
          : handler;
    register.call(this, action, wrapped);
  };
}

interface BatchEntry {
  Id?: unknown;
  MessageAttributes?: unknown;
}
interface BatchResult {
  Successful?: unknown[];
  Failed?: unknown[];
}

/**
 * SendMessageBatch with AWS's per-entry refusal of attribute values: refused entries are taken
 * out and reported under `Failed`, the rest go to fauxqs. A request that is wrong as a whole
 * (no entries, too many, bad or repeated ids) is left to fauxqs, which refuses it as AWS does.
 */
async function sendBatchCheckingAttributes(entryId: RegExp, handler: Handler, body: Record<string, unknown>, rest: [unknown, unknown]): Promise<unknown> {
  const entries = Array.isArray(body?.Entries) ? (body.Entries as BatchEntry[]) : [];
  const ids = entries.map((e) => e.Id);
  const wellFormed = entries.length >= 1 && entries.length <= 10 && new Set(ids).size === ids.length && ids.every((id) => typeof id === 'string' && entryId.test(id));
  if (!wellFormed) return handler(body, ...rest);
  const refused = entries.flatMap((e) => {
    const bad = invalidAttribute(e.MessageAttributes);
    return bad === undefined ? [] : [{ Id: e.Id, SenderFault: true, Code: 'InvalidParameterValue', Message: attributeMessage(bad) }];
  });
  if (refused.length === 0) return handler(body, ...rest);
  const accepted = entries.filter((e) => !refused.some((r) => r.Id === e.Id));
  const result = (accepted.length > 0 ? await handler({ ...body, Entries: accepted }, ...rest) : { Successful: [], Failed: [] }) as BatchResult;
  return { ...result, Successful: result.Successful ?? [], Failed: [...(result.Failed ?? []), ...refused] };
}
