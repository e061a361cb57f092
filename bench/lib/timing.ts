/**
 * Shared timing helpers. Every bench compares cases against a baseline measured in the same
 * process, in the same run: rounds are interleaved (A B C, B C A, …) so that drift of the
 * machine (frequency, noisy neighbours, GC) hits every case alike, and the median round wins.
 */

export interface Case {
  readonly name: string;
  /** Operations one round performs (requests, jobs, signatures…). */
  readonly ops: number;
  /** Untimed, before every round (e.g. a fresh agent: every round starts cold). */
  readonly before?: () => void | Promise<void>;
  /** The timed work of one round. */
  readonly run: () => void | Promise<void>;
  /** Untimed, after every round. */
  readonly after?: () => void | Promise<void>;
}

export interface Timing {
  readonly name: string;
  readonly ops: number;
  readonly roundsMs: readonly number[];
  readonly medianMs: number;
  readonly opsPerSec: number;
  readonly usPerOp: number;
}

export interface RoundOptions {
  /** Untimed rounds first (JIT, connection pools, caches). */
  readonly warmup?: number;
  /** Timed rounds; the median is reported. */
  readonly rounds?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `warmup + rounds` rounds of every case, interleaved, rotating the order each round. */
export async function timeCases(cases: readonly Case[], options: RoundOptions = {}): Promise<Map<string, Timing>> {
  const warmup = options.warmup ?? 1;
  const rounds = options.rounds ?? 5;
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + r) % cases.length]!;
      await c.before?.();
      const started = performance.now();
      await c.run();
      const elapsed = performance.now() - started;
      await c.after?.();
      if (r >= warmup) samples.get(c.name)!.push(elapsed);
    }
  }
  const result = new Map<string, Timing>();
  for (const c of cases) {
    const roundsMs = samples.get(c.name)!;
    const medianMs = median(roundsMs);
    result.set(c.name, { name: c.name, ops: c.ops, roundsMs, medianMs, opsPerSec: (c.ops / medianMs) * 1000, usPerOp: (medianMs * 1000) / c.ops });
  }
  return result;
}

export function get<K, V>(map: Map<K, V>, key: K): V {
  const v = map.get(key);
  if (v === undefined) throw new Error(`no result for ${String(key)}`);
  return v;
}

/** Keeps results observable so the JIT cannot drop the measured work. */
export const sink = { value: 0 };

// ---- reporting -------------------------------------------------------------------------------

export interface Row {
  readonly case: string;
  /** Main figure: throughput, size… */
  readonly value: string;
  /** Cost of one operation. */
  readonly perOp: string;
  /** "×" ratio against the section's baseline, or '' for the baseline itself. */
  readonly ratio: string;
  readonly note?: string;
}

export interface Section {
  readonly title: string;
  /** One line: what the baseline is and how the ratio reads. */
  readonly reading: string;
  readonly rows: readonly Row[];
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  num: (n: number, digits = 2) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }),
  perSec: (n: number, unit: string) => `${Math.round(n).toLocaleString('en-US')} ${unit}/s`,
  us: (n: number) => (n >= 100 ? `${n.toFixed(0)} µs` : n >= 10 ? `${n.toFixed(1)} µs` : `${n.toFixed(2)} µs`),
  ratio: (n: number) => `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`,
  bytes: (n: number) => (Math.abs(n) >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : Math.abs(n) >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${Math.round(n)} B`),
};

export function renderSection(section: Section): string {
  const header: Row = { case: 'case', value: 'result', perOp: 'per op', ratio: 'ratio', note: 'note' };
  const rows = [header, ...section.rows];
  const width = (pick: (r: Row) => string) => Math.max(...rows.map((r) => pick(r).length));
  const w = { case: width((r) => r.case), value: width((r) => r.value), perOp: width((r) => r.perOp), ratio: width((r) => r.ratio) };
  const line = (r: Row) =>
    `  ${r.case.padEnd(w.case)}  ${r.value.padStart(w.value)}  ${r.perOp.padStart(w.perOp)}  ${r.ratio.padStart(w.ratio)}  ${r.note ?? ''}`.trimEnd();
  const rule = `  ${'-'.repeat(w.case)}  ${'-'.repeat(w.value)}  ${'-'.repeat(w.perOp)}  ${'-'.repeat(w.ratio)}  ${'-'.repeat(4)}`;
  return [`${section.title}`, `  ${section.reading}`, line(header), rule, ...section.rows.map(line)].join('\n');
}
