/**
 * JSON text of any value the AWS services carry. `JSON.stringify` recurses and overflows the
 * stack at a few thousand levels of nesting, while EventBridge accepts (and Lambda passes on)
 * any valid JSON up to 256 KB: `[[[…]]]` 100,000 deep is 200 KB. `JSON.parse` is not affected.
 * This is the one JSON writer of statushooks for values that came from outside.
 */

/** `JSON.stringify(value)` (no replacer, no indentation), with the same output, for nesting of any depth. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return stringifyIteratively(value);
  }
}

type Frame =
  | { readonly kind: 'array'; readonly source: object; readonly items: readonly unknown[]; next: number }
  | { readonly kind: 'object'; readonly source: object; readonly entries: ReadonlyArray<[string, unknown]>; next: number; written: number };

/**
 * JSON.stringify's rules (toJSON, undefined/functions/symbols left out of objects and null in
 * arrays, boxed primitives as their value, circular structures refused) with an explicit stack.
 * Text is appended to one list of pieces, so the cost is linear in the output, whatever the depth.
 */
function stringifyIteratively(root: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const seen = new Set<object>();

  /** Writes a scalar or opens a container (whose members the loop writes). */
  const write = (value: unknown): void => {
    if (isContainer(value)) {
      if (seen.has(value)) throw new TypeError('Converting circular structure to JSON');
      seen.add(value);
      if (Array.isArray(value)) {
        out.push('[');
        stack.push({ kind: 'array', source: value, items: value, next: 0 });
      } else {
        out.push('{');
        stack.push({ kind: 'object', source: value, entries: Object.entries(value), next: 0, written: 0 });
      }
      return;
    }
    out.push(JSON.stringify(value));
  };

  const first = resolve(root, '');
  if (omitted(first)) return undefined as unknown as string; // as JSON.stringify(undefined)
  write(first);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.kind === 'array') {
      if (frame.next < frame.items.length) {
        const index = frame.next++;
        if (index > 0) out.push(',');
        const value = resolve(frame.items[index], String(index));
        if (omitted(value)) out.push('null');
        else write(value);
        continue;
      }
      out.push(']');
    } else {
      if (frame.next < frame.entries.length) {
        const [key, raw] = frame.entries[frame.next++]!;
        const value = resolve(raw, key);
        if (omitted(value)) continue;
        if (frame.written++ > 0) out.push(',');
        out.push(JSON.stringify(key), ':');
        write(value);
        continue;
      }
      out.push('}');
    }
    stack.pop();
    seen.delete(frame.source);
  }
  return out.join('');
}

function resolve(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  return value;
}

function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !(value instanceof Number || value instanceof String || value instanceof Boolean);
}
