import type { Command } from 'commander';
import { declarations, devFlagSource, formatSetting, readSettings, resolveSettings } from '../../lambdas/core/settings';
import { UsageError } from '../cli-errors';

export interface DevOptions {
  readonly retrySchedule?: number[];
  readonly maxAttempts?: number;
  /** The other dev-flag settings given, as CDK context (e.g. `deliveryLog`). */
  readonly context?: Record<string, string>;
  readonly demo: boolean;
}

/** The stage settings `statushooks dev` takes as options (declared with their `devFlag`). */
const DEV_SETTINGS = declarations().filter(([, d]) => d.devFlag !== undefined);

/** Commander's camel-case key of a `--kebab-case` flag. */
const optionKey = (flag: string) => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Parses and checks dev's options by the declarations, with the same rules the stack applies. */
export function devOptions(raw: { retrySchedule?: string; maxAttempts?: string; deliveryLog?: string; demo: boolean }): DevOptions {
  const byFlag: Record<string, unknown> = {};
  for (const [, d] of DEV_SETTINGS) byFlag[d.devFlag!] = (raw as Record<string, unknown>)[optionKey(d.devFlag!)];
  const read = readSettings(devFlagSource(byFlag));
  const { problems } = resolveSettings(read.settings);
  if (read.problems.length + problems.length > 0) throw new UsageError([...read.problems, ...problems].join('; '));
  const { retrySchedule, maxAttempts } = read.settings;
  // The local runtime takes the retry settings as options of their own; every other flag as context.
  const context: Record<string, string> = {};
  for (const [name, d] of DEV_SETTINGS) {
    const value = (read.settings as Record<string, unknown>)[name];
    if (name !== 'retrySchedule' && name !== 'maxAttempts' && value !== undefined && d.context !== undefined) context[d.context] = formatSetting(value);
  }
  return { retrySchedule: retrySchedule && [...retrySchedule], maxAttempts, ...(Object.keys(context).length > 0 ? { context } : {}), demo: raw.demo };
}

export function registerDev(program: Command, keepAlive: () => void): void {
  const command = program
    .command('dev')
    .description('run the whole pipeline locally (emulators, bus, functions, pollers) and write .statushooks/dev.json; `npm start` runs this');
  for (const [, d] of DEV_SETTINGS) command.option(`${d.devFlag} <value>`, `${d.doc.replace(/\.$/, "")} (default ${formatSetting(d.default)})`);
  command
    .option('--no-demo', 'no demo receiver, subscription and event')
    .addHelpText('after', '\nExamples:\n  npm start\n  statushooks dev --retry-schedule 1,1,1,1 --max-attempts 3 --no-demo\n  statushooks dev --delivery-log failures')
    .action(async (raw: { retrySchedule?: string; maxAttempts?: string; deliveryLog?: string; demo: boolean }) => {
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
        // require, not import(): the CLI's TypeScript loader hooks require only (bin/statushooks.js).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runDev } = require('../../local/dev') as typeof import('../../local/dev');
        keepAlive();
        await runDev(options, stop.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
