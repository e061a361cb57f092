/** `1 attempt`, `3 attempts`: a count with its English noun (plural by a trailing s). */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** At most `max` UTF-16 units, never splitting a surrogate pair; `…` marks a cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - 1;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}…`;
}

export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * Why `text` is too long for a limit of `max`, or null. Limits count UTF-16 code units, as
 * JavaScript's `length` does: a character outside the Basic Multilingual Plane (most emoji) counts
 * 2, and the reason says so when the text holds one.
 */
export function lengthExcess(text: string, max: number): string | null {
  if (text.length <= max) return null;
  let pairs = 0;
  for (let i = 0; i < text.length; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) {
      pairs++;
      i++;
    }
  }
  if (pairs === 0) return `is ${text.length} characters long; at most ${max} are allowed`;
  return `is ${text.length} UTF-16 code units long (${text.length - pairs} characters, of which ${pairs} count 2: emoji and others outside the Basic Multilingual Plane); at most ${max} are allowed`;
}

/** The candidate nearest to `input` by edit distance, case-insensitive (first wins a tie): for "did you mean" hints. */
export function closest<T extends string>(input: string, candidates: readonly T[]): T {
  const wanted = input.toLowerCase();
  let best = candidates[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = levenshtein(wanted, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
