/**
 * Named errors. What happens to a delivery job is decided by the outcome union in delivery.ts;
 * RetryableError is only how the settle step tells the batch handler "this record failed, its
 * visibility is already set": the record handler throws it and Powertools reports the record.
 */
export class RetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** An endpoint the guard refuses: bad scheme, private address, unresolvable URL. */
export class EndpointBlockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EndpointBlockedError';
  }
}

/** An event from the bus that does not meet the producer contract (docs/architecture.md §1). */
export class InvalidEventError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** `Name: message` of a thrown value for logs and reports; a Node `code` (ECONNREFUSED) is added when the message lacks it. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code && !error.message.includes(code) ? `${error.name} ${code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}
