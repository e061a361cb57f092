import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, type Argument, type Option } from 'commander';
import { version } from '../package.json';
import { registerConsole } from './commands/console';
import { registerDeliveries } from './commands/deliveries';
import { registerDev } from './commands/dev';
import { registerDlq } from './commands/dlq';
import { registerEvents } from './commands/events';
import { registerSubscriptions } from './commands/subscriptions';
import { registerVerify } from './commands/verify';
import { CliError, EXIT, UsageError, errorLine } from './cli-errors';
import { printableLines } from './output';
import { plural } from '../lambdas/core/text';

export interface RunResult {
  readonly code: number;
  /** The command started something long-lived (`dev`): let the process end by itself. */
  readonly keepAlive: boolean;
}

const TOP_LEVEL_HELP = [
  '',
  'Target (commands that read or write the pipeline):',
  '  --stack <name>  a deployed stack, found through its CloudFormation outputs',
  '  --local <file>  the state file of a local runtime',
  '  (neither)       .statushooks/dev.json of the local runtime (`npm start`), in',
  '                  the current folder or else the nearest parent folder with one',
  '',
  'Exit codes:',
  '  0  ok',
  '  1  failed: not found, target unreachable, refused by AWS, broken subscription',
  '     item, invalid signature (verify)',
  '  2  usage error: unknown, missing or contradicting options, bad option values;',
  '     nothing was written',
  '',
  'Run `statushooks <command> --help` for the options and examples of a command.',
].join('\n');

const argumentTerm = (a: Argument) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`);

export function buildProgram(onKeepAlive: () => void = () => {}): Command {
  const program = new Command('statushooks')
    .description('Operate statushooks: subscriptions, events, deliveries and dead-letter queues, on the local runtime or a deployed stack.')
    .version(version, '-V, --version')
    // Settings made here are inherited by every subcommand created below.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    // "[options]" in every command's line is noise, and it pushed the descriptions of
    // `subscriptions --help` past the width where commander wraps them.
    .configureHelp({ subcommandTerm: (cmd) => [[cmd.name(), ...cmd.aliases()].join('|'), ...cmd.registeredArguments.map(argumentTerm)].join(' ') })
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    })
    .addHelpText('after', TOP_LEVEL_HELP);
  registerSubscriptions(program);
  registerEvents(program);
  registerDlq(program);
  registerDeliveries(program);
  registerVerify(program);
  registerDev(program, onKeepAlive);
  registerConsole(program);
  guardOptions(program);
  return program;
}

/** Every command below `command`, itself included. */
function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** A usage error raised while commander parses: printed as commander prints its own, exit 2. */
function usage(command: Command, message: string): never {
  command.error(`error: ${message}`, { exitCode: EXIT.usage, code: 'statushooks.usage' });
}

/**
 * Words after a command that takes none (or more than it takes). When they are all names of files
 * in the current folder, the shell has most likely expanded an unquoted `*` (`--events *`, meant
 * as "every event"): the message says so instead of commander's bare "too many arguments".
 */
function excessArguments(action: Command): void {
  const declared = action.registeredArguments;
  if (declared.at(-1)?.variadic || action.args.length <= declared.length) return;
  const extra = action.args.slice(declared.length);
  const shown = extra.slice(0, 3).map((a) => JSON.stringify(a)).join(' ') + (extra.length > 3 ? ` and ${extra.length - 3} more` : '');
  const expected = declared.length === 0 ? 'takes no arguments' : `takes ${plural(declared.length, 'argument')}`;
  const files = extra.every((a) => fs.existsSync(path.resolve(a)));
  const hint = files ? `. These are names of files or folders here: an unquoted * was probably expanded by the shell; quote it, e.g. --events '*'` : '';
  usage(action, `too many arguments: '${action.name()}' ${expected}, got ${shown}${hint}`);
}

/**
 * Checks commander does not make, or makes in an unhelpful order:
 * - an unknown option is reported before a missing required one: commander checks required
 *   options first, so `create --tenat acme --url …` said "--tenant not specified" instead of
 *   naming the typo. Required options are checked here, after commander's unknown-option check;
 * - an option and its negation (`--status-filter a --no-status-filter`) contradict each other;
 *   commander lets the last one win silently;
 * - an option given twice with different values (`--tenant a --tenant b`): the last one won
 *   (variadic options such as `dlq discard --id a b` take several values on purpose);
 * - an option whose value is another option (`--events --json`): the user forgot the value.
 */
function guardOptions(program: Command): void {
  const required = new Map<Command, Option[]>();
  for (const command of allCommands(program)) {
    const mandatory = command.options.filter((o) => o.mandatory);
    for (const option of mandatory) {
      option.makeOptionMandatory(false);
      option.description = `${option.description} (required)`;
    }
    if (mandatory.length) required.set(command, mandatory);
    // Checked by excessArguments, which can tell a shell-expanded * from a stray word.
    command.allowExcessArguments(true);

    const longFlags = new Set(command.options.map((o) => o.long).filter((l): l is string => l !== undefined));
    const seen = new Map<string, { flag: string; value: unknown }>();
    for (const option of command.options) {
      const flag = option.long ?? option.short ?? option.flags;
      command.on(`option:${option.name()}`, (value: unknown) => {
        if (option.required && typeof value === 'string' && longFlags.has(value.split('=')[0]!)) {
          usage(command, `option '${option.flags}' needs a value, but got the option ${value}`);
        }
        const key = option.attributeName();
        const before = seen.get(key);
        if (before && before.flag !== flag) usage(command, `${before.flag} and ${flag} contradict each other; give one of them`);
        if (before && !option.variadic && before.value !== value) usage(command, `${flag} given twice (${JSON.stringify(before.value)} and ${JSON.stringify(value)}); give it once`);
        seen.set(key, { flag, value });
      });
    }
  }
  program.hook('preAction', (_program, action) => {
    excessArguments(action);
    for (const option of required.get(action) ?? []) {
      if (action.getOptionValue(option.attributeName()) === undefined) {
        action.error(`error: required option '${option.flags}' not specified`, { exitCode: EXIT.usage, code: 'commander.missingMandatoryOptionValue' });
      }
    }
  });
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

/** Prints an error as one line on stderr (commander has printed its own already); returns the exit code. */
export function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
    return EXIT.usage;
  }
  // An error can quote a value read from a table or typed by the user: its control characters are shown escaped.
  process.stderr.write(`${printableLines(errorLine(error))}\n`);
  if (!(error instanceof UsageError) && !(error instanceof CliError) && process.env.STATUSHOOKS_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  return error instanceof UsageError ? EXIT.usage : EXIT.failure;
}
