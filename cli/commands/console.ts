import type { Command } from 'commander';
import { UsageError } from '../cli-errors';
import { withUrlPolicyOptions } from '../run';
import { LOCAL_STATE_FILE } from '../../local/state-file';
import { resolveTarget, targetKind, type TargetOptions } from '../target';

type ConsoleOptions = TargetOptions & { port: string };

/** `--port`: 0 (any free port) to 65535. */
export function parsePort(text: string): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n > 65535) throw new UsageError(`--port: expected a port number from 0 to 65535 (0: any free port), got "${text}"`);
  return n;
}

export function registerConsole(program: Command): void {
  withUrlPolicyOptions(
    program
      .command('console')
      .description('serve the web console on 127.0.0.1 (subscriptions, endpoint health, deliveries, dead letters) for the target; prints its URL with a session token')
      .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '0')
      .option('--stack <name>', 'operate the deployed stack <name> (reads its CloudFormation outputs; region and credentials from the usual AWS environment)')
      .option('--local <file>', `operate the local runtime described by <file> (default without --stack: ${LOCAL_STATE_FILE} in the current folder or the nearest parent folder that has one)`),
  )
    .addHelpText(
      'after',
      [
        '',
        'The console listens on 127.0.0.1 only and opens nothing by itself: open the',
        'printed URL in a browser on this machine. Its token is the session: the page',
        'keeps it in a cookie, and a request without it gets 401. It acts with your AWS',
        'credentials (or the local runtime), like every other command. Ctrl-C stops it.',
        '',
        'Examples:',
        '  statushooks console',
        '  statushooks console --stack StatusHooks --port 8080',
      ].join('\n'),
    )
    .action(async (options: ConsoleOptions) => {
      targetKind(options);
      const port = parsePort(options.port);
      const target = await resolveTarget(options);
      // Loaded only when `console` runs; require, not import(): the CLI's TypeScript loader hooks require only.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startConsole } = require('../console/server') as typeof import('../console/server');
      const running = await startConsole(target, options, port);
      process.stdout.write(`console: ${running.url}\n`);
      process.stdout.write(`target: ${target.label}; open the URL in a browser on this machine (Ctrl-C stops the console)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      // The action ends only now: the CLI then exits as after any command.
      await running.close();
      process.stdout.write('console stopped\n');
    });
}
