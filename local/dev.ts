/**
 * `statushooks dev` (what `npm start` runs): starts the local runtime, prints a short guide, runs
 * the demo, shows one line per delivery attempt, and stops cleanly on Ctrl-C or SIGTERM, also
 * when the signal comes during start-up.
 */
import path from 'node:path';
import { DEFAULTS } from '../lambdas/core/config';
import { EVENT_NAMES } from '../lambdas/core/catalog';
import { type Demo, DEMO_TENANT, startDemo } from './demo';
import { type LocalRuntime, startLocalRuntime } from './runtime';

export interface RunDevOptions {
  readonly retrySchedule?: number[];
  readonly maxAttempts?: number;
  /** Other settings, as CDK context (`statushooks dev --delivery-log failures` → deliveryLog). */
  readonly context?: Record<string, string>;
  readonly demo: boolean;
}

/** Thrown at the last point of start-up before anything runs, when a stop was asked for meanwhile. */
class StartupStopped extends Error {
  constructor() {
    super('start-up stopped on request');
    this.name = 'StartupStopped';
  }
}

/**
 * Runs until `stop` is aborted (its reason: the signal's name), then stops everything, removes the
 * state file and the temporary folders, and resolves. The caller installs the signal handlers
 * before calling, so that a Ctrl-C during start-up is not Node's default "exit at once": start-up
 * then ends at its next step (after the synthesis, before the emulators start) or, once they run,
 * finishes and everything is stopped again.
 */
export async function runDev(opts: RunDevOptions, stop: AbortSignal): Promise<void> {
  // This process runs the AWS SDK only against local endpoints; its Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const cwd = process.cwd();
  let starting = true;
  const stopRequested = new Promise<void>((resolve) => {
    const onStop = () => {
      print(`\n${String(stop.reason)}: stopping${starting ? ' once the current start-up step has finished' : ''}…`);
      resolve();
    };
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  });
  if (stop.aborted) {
    print('stopped before start-up');
    return;
  }

  print('statushooks dev: synthesizing the stack and starting it locally…');
  const started = Date.now();
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      retrySchedule: opts.retrySchedule,
      maxAttempts: opts.maxAttempts,
      context: opts.context,
      log: print,
      cwd,
      // Called once the synthesis is done and before the emulators start: the cheapest point to
      // end a start-up that was asked to stop (the runtime then removes what it made).
      transformTemplate: (template) => {
        if (stop.aborted) throw new StartupStopped();
        return template;
      },
    });
  } catch (error) {
    // A Ctrl-C in a terminal reaches the child processes of the synthesis too (esbuild), which then
    // fail it; the signal itself is handled on a later turn of the event loop: give it that turn,
    // so that the failure is reported as the stop it is.
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!stop.aborted) throw error;
    const why = error instanceof StartupStopped ? '' : ` (start-up failed meanwhile: ${error instanceof Error ? error.message : String(error)})`;
    print(`stopped during start-up${why}`);
    return;
  }

  let demo: Demo | undefined;
  if (!stop.aborted) {
    printGuide(print, runtime, cwd, opts, Date.now() - started);
    if (opts.demo) {
      try {
        demo = await startDemo(runtime, print);
      } catch (error) {
        print(`! the demo could not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  starting = false;

  await stopRequested;
  await demo?.stop().catch(() => undefined);
  await runtime.stop();
  print(runtime.stateFile ? `stopped; removed ${path.relative(cwd, runtime.stateFile)}` : 'stopped');
}

function printGuide(print: (line: string) => void, runtime: LocalRuntime, cwd: string, opts: RunDevOptions, ms: number): void {
  const o = runtime.outputs;
  const state = runtime.stateFile ? path.relative(cwd, runtime.stateFile) : '(not written)';
  const schedule = (opts.retrySchedule ?? DEFAULTS.retrySchedule).join(',');
  print('');
  print(`statushooks is running locally (started in ${(ms / 1000).toFixed(1)} s)`);
  print(`  EventBridge  ${runtime.endpoints.eventbridge}   bus ${o.EventBusName ?? '?'}`);
  print(`  DynamoDB     ${runtime.endpoints.dynamodb}   table ${o.SubscriptionsTableName ?? '?'}`);
  print(`  SQS          ${runtime.endpoints.sqs}   delivery queue (fast lane), retry queue (retry lane), delivery DLQ, fan-out DLQ`);
  print(`  state file   ${state}  (the CLI and any AWS SDK client find the stack through it)`);
  print(`  function logs ${runtime.logFile}`);
  print(`  retries      schedule ${schedule} s, ${opts.maxAttempts ?? DEFAULTS.maxAttempts} attempts`);
  print(`  delivery log ${o.DeliveryLogMode === 'failures' ? 'failed deliveries only (--delivery-log failures)' : 'every delivery'}`);
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
