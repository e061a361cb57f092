import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import { registerDev } from './commands/dev';
import { registerDlq } from './commands/dlq';
import { registerEvents } from './commands/events';
import { registerSubscriptions } from './commands/subscriptions';
import { registerVerify } from './commands/verify';
import { CliError, EXIT, UsageError } from './errors';

export interface RunResult {
  readonly code: number;
  /** The command started something long-lived (`dev`): let the process end by itself. */
  readonly keepAlive: boolean;
}

export function buildProgram(onKeepAlive: () => void = () => {}): Command {
  const program = new Command('statushooks')
    .description('Operate statushooks: subscriptions, events and dead-letter queues, on the local runtime or a deployed stack.')
    .version(version, '-V, --version')
    // Settings made here are inherited by every subcommand created below.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    })
    .addHelpText(
      'after',
      [
        '',
        'Target: --stack <name> (a deployed stack, through CloudFormation outputs), --local <file>, or by',
        'default .statushooks/dev.json of the local runtime (`npm start`) in the current directory.',
        'Exit codes: 0 ok, 1 failure (not found, unreachable, refused), 2 usage error (nothing written).',
      ].join('\n'),
    );
  registerSubscriptions(program);
  registerEvents(program);
  registerDlq(program);
  registerVerify(program);
  registerDev(program, onKeepAlive);
  return program;
}

/** Runs the CLI on argv (process.argv form); prints errors on stderr and returns the exit code. */
export async function main(argv: readonly string[]): Promise<RunResult> {
  let keepAlive = false;
  const program = buildProgram(() => {
    keepAlive = true;
  });
  try {
    await program.parseAsync([...argv]);
    return { code: typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok, keepAlive };
  } catch (error) {
    return { code: report(error), keepAlive: false };
  }
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT.failure;
  }
  const e = error as Error;
  process.stderr.write(`error: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}\n`);
  if (process.env.STATUSHOOKS_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  return EXIT.failure;
}
