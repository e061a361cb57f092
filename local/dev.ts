/**
 * `statushooks dev` (what `npm start` runs): starts the local runtime, prints a short guide, runs
 * the demo, shows one line per delivery attempt, and stops cleanly on Ctrl-C or SIGTERM.
 */
import path from 'node:path';
import { DEFAULTS } from '../lambdas/core/config';
import { EVENT_NAMES } from '../lambdas/core/catalog';
import { type Demo, DEMO_TENANT, startDemo } from './demo';
import { type LocalRuntime, startLocalRuntime } from './runtime';

export interface RunDevOptions {
  readonly retrySchedule?: number[];
  readonly maxAttempts?: number;
  readonly demo: boolean;
}

export async function runDev(opts: RunDevOptions): Promise<void> {
  // This process runs the AWS SDK only against local endpoints; its Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const cwd = process.cwd();
  print('statushooks dev: synthesizing the stack and starting it locally…');
  const started = Date.now();
  const runtime = await startLocalRuntime({ retrySchedule: opts.retrySchedule, maxAttempts: opts.maxAttempts, log: print, cwd });
  printGuide(print, runtime, cwd, opts, Date.now() - started);

  let demo: Demo | undefined;
  if (opts.demo) {
    try {
      demo = await startDemo(runtime, print);
    } catch (error) {
      print(`! the demo could not start: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        print(`${signal} again: exiting without cleaning up`);
        process.exit(130);
      }
      stopping = true;
      print(`\n${signal}: stopping…`);
      void (async () => {
        await demo?.stop().catch(() => undefined);
        await runtime.stop();
        print(runtime.stateFile ? `stopped; removed ${path.relative(cwd, runtime.stateFile)}` : 'stopped');
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function printGuide(print: (line: string) => void, runtime: LocalRuntime, cwd: string, opts: RunDevOptions, ms: number): void {
  const o = runtime.outputs;
  const state = runtime.stateFile ? path.relative(cwd, runtime.stateFile) : '(not written)';
  const schedule = (opts.retrySchedule ?? DEFAULTS.retrySchedule).join(',');
  print('');
  print(`statushooks is running locally (started in ${(ms / 1000).toFixed(1)} s)`);
  print(`  EventBridge  ${runtime.endpoints.eventbridge}   bus ${o.EventBusName ?? '?'}`);
  print(`  DynamoDB     ${runtime.endpoints.dynamodb}   table ${o.SubscriptionsTableName ?? '?'}`);
  print(`  SQS          ${runtime.endpoints.sqs}   delivery queue, delivery DLQ, fan-out DLQ`);
  print(`  state file   ${state}  (the CLI and any AWS SDK client find the stack through it)`);
  print(`  function logs ${runtime.logFile}`);
  print(`  retries      schedule ${schedule} s, ${opts.maxAttempts ?? DEFAULTS.maxAttempts} attempts`);
  print('');
  print('! Local only: plain http:// and private or loopback webhook URLs (127.0.0.1, 10.x, …) are allowed.');
  print('  A deployed stack refuses them unless it is configured to allow them.');
  print('');
  print('Try, in another terminal:');
  print(`  npx statushooks subscriptions create --tenant ${DEMO_TENANT} --url http://127.0.0.1:9000/hook --events '*'`);
  print(`  npx statushooks events send --type ${EVENT_NAMES[0]} --tenant ${DEMO_TENANT} --old approved --new option_selected --uuid 90aabf83-d23c-4792-b483-2546b8041379`);
  print('Ctrl-C stops everything and removes the state file.');
  print('');
}
