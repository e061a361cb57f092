/**
 * The three kinds of failure that decide what happens to a message:
 * - RetryableError: try again later (the job's visibility is pushed back by the retry policy);
 * - PermanentError: trying again cannot help; park the job with its reason now;
 * - anything else is a fault of ours or of an AWS dependency: the record fails and SQS or
 *   Lambda retries it, so it is never acknowledged by mistake.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

/** An endpoint the guard refuses: bad scheme, private address, unresolvable URL. */
export class EndpointBlockedError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointBlockedError';
  }
}

/** An event from the bus that does not meet the producer contract (docs/architecture.md §1). */
export class InvalidEventError extends PermanentError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
