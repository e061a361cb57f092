/**
 * JSON text of any value the AWS services would carry. `JSON.stringify` recurses and overflows
 * the stack at a few thousand levels of nesting, while EventBridge accepts (and Lambda passes on)
 * any valid JSON up to 256 KB: `[[[…]]]` 10,000 deep is 20 KB. `JSON.parse` is not affected.
 */

/** `JSON.stringify(value)`, with the same output, for nesting of any depth. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return stringifyIteratively(value);
  }
}

type Frame =
  | { kind: 'array'; source: object; items: readonly unknown[]; next: number; parts: string[] }
  | { kind: 'object'; source: object; entries: ReadonlyArray<[string, unknown]>; next: number; parts: string[] };

/** JSON.stringify's rules (toJSON, skipped undefined/functions/symbols in objects, null in arrays) with an explicit stack. */
function stringifyIteratively(root: unknown): string {
  const stack: Frame[] = [];
  // The text of a finished value, handed to the frame below it; undefined means "omit".
  let done: string | undefined;
  let pending: { value: unknown; key: string } | undefined = { value: root, key: '' };
  const seen = new Set<object>();

  for (;;) {
    if (pending) {
      let value = pending.value;
      if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        value = (value as { toJSON(key: string): unknown }).toJSON(pending.key);
      }
      pending = undefined;
      if (value !== null && typeof value === 'object' && !isBoxedPrimitive(value)) {
        if (seen.has(value)) throw new TypeError('Converting circular structure to JSON');
        seen.add(value);
        stack.push(
          Array.isArray(value)
            ? { kind: 'array', source: value, items: value, next: 0, parts: [] }
            : { kind: 'object', source: value, entries: Object.entries(value as Record<string, unknown>), next: 0, parts: [] },
        );
        done = undefined;
      } else {
        done = JSON.stringify(value);
      }
    }
    const frame = stack.at(-1);
    if (!frame) return done as string;
    if (frame.next > 0) {
      // `done` is the text of the member just finished.
      if (frame.kind === 'array') frame.parts.push(done ?? 'null');
      else if (done !== undefined) frame.parts.push(`${JSON.stringify(frame.entries[frame.next - 1]![0])}:${done}`);
    }
    if (frame.kind === 'array' ? frame.next < frame.items.length : frame.next < frame.entries.length) {
      pending = frame.kind === 'array' ? { value: frame.items[frame.next], key: String(frame.next) } : { value: frame.entries[frame.next]![1], key: frame.entries[frame.next]![0] };
      frame.next++;
      continue;
    }
    stack.pop();
    seen.delete(frame.source);
    done = frame.kind === 'array' ? `[${frame.parts.join(',')}]` : `{${frame.parts.join(',')}}`;
  }
}

function isBoxedPrimitive(value: object): boolean {
  return value instanceof Number || value instanceof String || value instanceof Boolean;
}
