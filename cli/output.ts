/** Output helpers: stdout carries results (text, or one JSON document with --json); stderr carries errors. */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Prints lines of text. Any control character other than the line breaks between lines is shown
 * escaped (see `printable`): a value read from a table or an HTTP response cannot move the cursor,
 * colour the terminal or forge a line of output.
 */
export function printLines(...lines: string[]): void {
  process.stdout.write(`${printableLines(lines.join('\n'))}\n`);
}

/** C0 controls (tab, newline and ESC included), DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The first control character of `text` (C0, DEL or C1), or undefined. */
export function firstControl(text: string): string | undefined {
  return new RegExp(CONTROL.source).exec(text)?.[0];
}

/**
 * A value as one line of plain text: every control character (C0 incl. newline, tab and ESC; DEL;
 * C1) is written escaped, `\n`, `\t`, `\u001b`, so it is seen rather than acted on by the terminal.
 * Every table cell and key/value pair goes through it; JSON output escapes such characters itself.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text whose line breaks are meant: each line made `printable`. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** A plain-text table with a header row, columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const shown = [headers, ...rows].map((r) => r.map((c) => printable(c ?? '')));
  const widths = headers.map((_, i) => Math.max(...shown.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return shown.map(line).join('\n');
}

/** Key/value lines, keys aligned. */
export function fields(entries: readonly (readonly [string, string])[]): string {
  const shown = entries.map(([k, v]) => [printable(k), printable(v)] as const);
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** A compact age: 45s, 12m, 3h, 2d. */
export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
