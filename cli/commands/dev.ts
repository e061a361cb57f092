import type { Command } from 'commander';
import { DEFAULTS, parseSchedule, retryPolicyProblems } from '../../lambdas/core/config';
import { UsageError } from '../errors';

export interface DevOptions {
  readonly retrySchedule?: number[];
  readonly maxAttempts?: number;
  readonly demo: boolean;
}

/** Parses and checks dev's options against the same rules the stack applies. */
export function devOptions(raw: { retrySchedule?: string; maxAttempts?: string; demo: boolean }): DevOptions {
  let retrySchedule: number[] | undefined;
  if (raw.retrySchedule !== undefined) {
    try {
      retrySchedule = parseSchedule(raw.retrySchedule);
    } catch (error) {
      throw new UsageError(`--retry-schedule: ${(error as Error).message}`);
    }
  }
  if (raw.maxAttempts !== undefined && !/^\d+$/.test(raw.maxAttempts.trim())) throw new UsageError(`--max-attempts: expected a whole number, got "${raw.maxAttempts}"`);
  const maxAttempts = raw.maxAttempts === undefined ? undefined : Number(raw.maxAttempts);
  const problems = retryPolicyProblems({ maxAttempts: maxAttempts ?? DEFAULTS.maxAttempts, schedule: retrySchedule ?? DEFAULTS.retrySchedule });
  if (problems.length) throw new UsageError(problems.join('; '));
  return { retrySchedule, maxAttempts, demo: raw.demo };
}

export function registerDev(program: Command, keepAlive: () => void): void {
  program
    .command('dev')
    .description('run the whole pipeline locally (emulators, bus, functions, pollers) and write .statushooks/dev.json; `npm start` runs this')
    .option('--retry-schedule <seconds>', `retry delays in seconds, comma-separated (default ${DEFAULTS.retrySchedule.join(',')})`)
    .option('--max-attempts <n>', `delivery attempts before a job is parked (default ${DEFAULTS.maxAttempts})`)
    .option('--no-demo', 'no demo receiver, subscription and event')
    .addHelpText('after', '\nExamples:\n  npm start\n  statushooks dev --retry-schedule 1,1,1,1 --max-attempts 3 --no-demo')
    .action(async (raw: { retrySchedule?: string; maxAttempts?: string; demo: boolean }) => {
      const options = devOptions(raw);
      // Handlers first: without them a Ctrl-C during start-up (synthesis, emulators) would end the
      // process at once and leave the temporary folders and a half-started runtime behind.
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) {
          process.stdout.write(`${signal} again: exiting without cleaning up\n`);
          process.exit(130);
        }
        stop.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        // Loaded only when `dev` runs: the local runtime is large and the other commands do not need it.
        const { runDev } = await import('../../local/dev');
        keepAlive();
        await runDev(options, stop.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
