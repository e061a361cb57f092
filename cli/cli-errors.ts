/**
 * The CLI's exit codes: 0 ok, 2 usage (the command line or its input is wrong, nothing was
 * contacted or written), 1 anything else (not found, target unreachable, AWS refused).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Bad command-line input: an option value, a file's content. Exit 2, nothing written. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure with a message fit for an operator as it is. Exit 1. */
export class CliError extends Error {
  readonly exitCode = EXIT.failure;
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * The one line printed for an error: `error: <message>`. Our own errors are worded for the operator
 * as they are: UsageError, CliError and any error of this project that carries its `exitCode` (the
 * local runtime's, which does not depend on the CLI). Any other error class (an AWS exception, a
 * bug) gets its name after the message when the name says more than "Error", so the line never
 * starts "error: Error: …".
 */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return `error: ${String(error)}`;
  const message = error.message.trim() || '(no message)';
  const own = error instanceof UsageError || error instanceof CliError || typeof (error as { exitCode?: unknown }).exitCode === 'number';
  const name = error.name && error.name !== 'Error' && !own && !message.includes(error.name) ? ` (${error.name})` : '';
  return `error: ${message}${name}`;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE']);

/** Whether an AWS SDK call failed because the endpoint could not be reached (not an API answer). */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return true;
  return e.$metadata?.httpStatusCode === undefined && /ECONNREFUSED|ENOTFOUND|socket hang up|timed? ?out/i.test(e.message);
}
