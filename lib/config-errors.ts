/**
 * A stage configuration that cannot be deployed (bad CDK context or stack props). Its message
 * lists every problem, one per line; `bin/app.ts` prints it without a stack trace.
 */
export class StatusHooksConfigError extends Error {
  constructor(
    readonly source: 'CDK context' | 'statushooks configuration',
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'StatusHooksConfigError';
  }
}
