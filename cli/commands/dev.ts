import { InvalidArgumentError, type Command } from 'commander';
import { declarations, devFlagSource, formatSetting, readSettings, resolveSettings } from '../../lambdas/core/settings';
import { UsageError } from '../cli-errors';
import { nonEmpty, positiveInt } from '../inputs';

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

type DevSetting = (typeof DEV_SETTINGS)[number][1];

/**
 * A flag's value by the command line's own rules, before the settings' rules: a value given is
 * never empty (the settings read "" as "not set", so `--max-attempts ''` meant the default), and
 * whole numbers are digits only, as for every count the CLI takes (`1e1`, `3.0`, `0x10` are not;
 * the one integer flag, --max-attempts, starts at 1 like the CLI's other counts).
 */
function flagValue(flag: string, d: DevSetting, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (d.kind === 'integer') {
    try {
      return positiveInt(value);
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw new UsageError(`${flag}: ${error.message}`);
      throw error;
    }
  }
  if (d.kind === 'seconds') {
    if (!value.split(',').every((s) => /^\d+$/.test(s.trim()))) throw new UsageError(`${flag}: retry schedule must be comma-separated whole seconds, e.g. "60,600,3600", got "${value}"`);
    return value;
  }
  return nonEmpty(flag, value);
}

/** A settings problem in the words of the command line: `maxAttempts must be …` → `--max-attempts must be …`. */
const asFlags = (problem: string) => DEV_SETTINGS.reduce((text, [name, d]) => text.replace(new RegExp(`\\b${name}\\b`, 'g'), d.devFlag!), problem);

/** Parses and checks dev's options by the declarations, with the same rules the stack applies. */
export function devOptions(raw: { retrySchedule?: string; maxAttempts?: string; deliveryLog?: string; demo: boolean }): DevOptions {
  const byFlag: Record<string, unknown> = {};
  const flagProblems: string[] = [];
  for (const [, d] of DEV_SETTINGS) {
    const flag = d.devFlag!;
    try {
      byFlag[flag] = flagValue(flag, d, (raw as Record<string, unknown>)[optionKey(flag)]);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      flagProblems.push(error.message);
    }
  }
  const read = readSettings(devFlagSource(byFlag));
  // The stack's checks name settings as CDK context does (maxAttempts); here they were given as flags.
  const { problems } = resolveSettings(read.settings);
  const all = [...flagProblems, ...read.problems, ...problems.map(asFlags)];
  if (all.length > 0) throw new UsageError(all.join('; '));
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
