/**
 * EventBridge event patterns, compiled once at start-up. The operators implemented here are
 * matched as EventBridge documents them; any other operator makes compilation fail with its name,
 * so a rule is never silently matched differently from AWS.
 *
 * Supported: exact values (string, number, boolean, null), nested objects, `$or`, `prefix`,
 * `suffix`, `equals-ignore-case`, `anything-but` (value, list, prefix, suffix, equals-ignore-case),
 * `numeric`, `exists`, `wildcard`. Not supported (refused): `cidr` and anything unknown.
 */

export class UnsupportedPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPatternError';
  }
}

type Leaf = string | number | boolean | null;
type ValueTest = (values: readonly Leaf[]) => boolean;
export type EventMatcher = (event: unknown) => boolean;

export const SUPPORTED_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists', 'wildcard'] as const;

/** Compiles a pattern (object or JSON text); `where` names the rule in errors. */
export function compilePattern(pattern: unknown, where: string): EventMatcher {
  const parsed = typeof pattern === 'string' ? parseJson(pattern, where) : pattern;
  if (!isPlainObject(parsed)) throw new UnsupportedPatternError(`${where}: an event pattern must be a JSON object`);
  return compileObject(parsed, [], where);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UnsupportedPatternError(`${where}: the event pattern is not valid JSON`);
  }
}

function compileObject(pattern: Record<string, unknown>, path: string[], where: string): EventMatcher {
  const parts: EventMatcher[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isPlainObject)) {
        throw new UnsupportedPatternError(`${where}: "$or" needs a list of at least two patterns`);
      }
      const alternatives = value.map((alt, i) => compileObject(alt as Record<string, unknown>, path, `${where} $or[${i}]`));
      parts.push((event) => alternatives.some((m) => m(event)));
    } else if (Array.isArray(value)) {
      const fieldPath = [...path, key];
      const test = compileLeafList(value, `${where} ${fieldPath.join('.')}`);
      parts.push((event) => test(valuesAt(event, fieldPath)));
    } else if (isPlainObject(value)) {
      parts.push(compileObject(value, [...path, key], where));
    } else {
      throw new UnsupportedPatternError(`${where} ${[...path, key].join('.')}: match values must be in a list, got ${JSON.stringify(value)}`);
    }
  }
  return (event) => parts.every((p) => p(event));
}

/** All leaf values at `path`, descending through arrays as EventBridge flattens them. */
function valuesAt(root: unknown, path: readonly string[]): Leaf[] {
  let current: unknown[] = [root];
  for (const key of path) {
    const next: unknown[] = [];
    for (const node of current) {
      for (const item of Array.isArray(node) ? node : [node]) {
        if (isPlainObject(item) && Object.prototype.hasOwnProperty.call(item, key)) next.push(item[key]);
      }
    }
    current = next;
  }
  const leaves: Leaf[] = [];
  for (const node of current) {
    for (const item of Array.isArray(node) ? node : [node]) {
      if (item === null || ['string', 'number', 'boolean'].includes(typeof item)) leaves.push(item as Leaf);
    }
  }
  return leaves;
}

function compileLeafList(list: unknown[], where: string): ValueTest {
  if (list.length === 0) throw new UnsupportedPatternError(`${where}: an empty match list never matches`);
  const tests: ValueTest[] = list.map((item) => compileLeaf(item, where));
  return (values) => tests.some((t) => t(values));
}

function compileLeaf(item: unknown, where: string): ValueTest {
  if (item === null || typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
    return (values) => values.some((v) => v === item);
  }
  if (!isPlainObject(item)) throw new UnsupportedPatternError(`${where}: unsupported match value ${JSON.stringify(item)}`);
  const keys = Object.keys(item);
  if (keys.length !== 1) throw new UnsupportedPatternError(`${where}: a matcher object must have exactly one operator, got ${keys.join(', ') || 'none'}`);
  const operator = keys[0]!;
  const arg = item[operator];
  switch (operator) {
    case 'exists':
      if (typeof arg !== 'boolean') throw new UnsupportedPatternError(`${where}: "exists" takes true or false`);
      return (values) => (values.length > 0) === arg;
    case 'prefix':
    case 'suffix': {
      const test = compileAffix(operator, arg, where);
      return (values) => values.some((v) => typeof v === 'string' && test(v));
    }
    case 'equals-ignore-case': {
      const wanted = requireString(arg, operator, where).toLowerCase();
      return (values) => values.some((v) => typeof v === 'string' && v.toLowerCase() === wanted);
    }
    case 'wildcard': {
      const regex = wildcardRegex(requireString(arg, operator, where));
      return (values) => values.some((v) => typeof v === 'string' && regex.test(v));
    }
    case 'numeric': {
      const test = compileNumeric(arg, where);
      return (values) => values.some((v) => typeof v === 'number' && test(v));
    }
    case 'anything-but': {
      const excluded = compileAnythingBut(arg, where);
      return (values) => values.length > 0 && values.some((v) => !excluded(v));
    }
    default:
      throw new UnsupportedPatternError(`${where}: event pattern operator "${operator}" is not supported by the local runtime (supported: ${SUPPORTED_OPERATORS.join(', ')})`);
  }
}

function compileAffix(operator: 'prefix' | 'suffix', arg: unknown, where: string): (v: string) => boolean {
  if (typeof arg === 'string') return operator === 'prefix' ? (v) => v.startsWith(arg) : (v) => v.endsWith(arg);
  if (isPlainObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    const wanted = (arg['equals-ignore-case'] as string).toLowerCase();
    return operator === 'prefix' ? (v) => v.toLowerCase().startsWith(wanted) : (v) => v.toLowerCase().endsWith(wanted);
  }
  throw new UnsupportedPatternError(`${where}: "${operator}" takes a string or {"equals-ignore-case": string}, got ${JSON.stringify(arg)}`);
}

function compileAnythingBut(arg: unknown, where: string): (v: Leaf) => boolean {
  if (arg === null || ['string', 'number', 'boolean'].includes(typeof arg)) return (v) => v === arg;
  if (Array.isArray(arg)) {
    if (!arg.every((a) => a === null || ['string', 'number', 'boolean'].includes(typeof a))) {
      throw new UnsupportedPatternError(`${where}: "anything-but" lists must hold plain values`);
    }
    return (v) => arg.includes(v);
  }
  if (isPlainObject(arg) && Object.keys(arg).length === 1) {
    const [op] = Object.keys(arg) as [string];
    const inner = arg[op];
    if (op === 'prefix' || op === 'suffix') {
      const test = compileAffix(op, inner, where);
      return (v) => typeof v === 'string' && test(v);
    }
    if (op === 'equals-ignore-case') {
      const list = (Array.isArray(inner) ? inner : [inner]).map((s) => requireString(s, op, where).toLowerCase());
      return (v) => typeof v === 'string' && list.includes(v.toLowerCase());
    }
    if (op === 'wildcard') {
      const regexes = (Array.isArray(inner) ? inner : [inner]).map((s) => wildcardRegex(requireString(s, op, where)));
      return (v) => typeof v === 'string' && regexes.some((r) => r.test(v));
    }
    throw new UnsupportedPatternError(`${where}: event pattern operator "anything-but"/"${op}" is not supported by the local runtime`);
  }
  throw new UnsupportedPatternError(`${where}: unsupported "anything-but" argument ${JSON.stringify(arg)}`);
}

const NUMERIC_OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function compileNumeric(arg: unknown, where: string): (v: number) => boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0) {
    throw new UnsupportedPatternError(`${where}: "numeric" takes pairs of operator and number`);
  }
  const checks: Array<(v: number) => boolean> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const bound = arg[i + 1];
    const compare = typeof op === 'string' ? NUMERIC_OPERATORS[op] : undefined;
    if (!compare || typeof bound !== 'number') throw new UnsupportedPatternError(`${where}: invalid "numeric" condition ${JSON.stringify([op, bound])}`);
    checks.push((v) => compare(v, bound));
  }
  return (v) => checks.every((c) => c(v));
}

function wildcardRegex(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's');
}

function requireString(value: unknown, operator: string, where: string): string {
  if (typeof value !== 'string') throw new UnsupportedPatternError(`${where}: "${operator}" takes a string, got ${JSON.stringify(value)}`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
