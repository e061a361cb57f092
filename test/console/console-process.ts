/**
 * What the browser suites share: Debian's chromium and `statushooks console` started as an
 * operator starts it (the real CLI, in its own process), with the URL it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from '../cli/helpers';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Outcomes (a delivery, a retry, a redrive) are waited for, never timed: generous for a loaded CI machine. */
export const OUTCOME_MS = 60_000;

/** Polls `probe` every 250 ms until it gives a value; on timeout the error carries `details()` (the console's output). */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, details: () => string, timeoutMs = OUTCOME_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nconsole output:\n${details()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface ConsoleProcess {
  readonly process: ChildProcess;
  /** The URL with the session token, as printed. */
  readonly url: string;
  /** Everything it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then waits for the exit (nothing when it has exited already). */
  stop(): Promise<void>;
}

/** Runs `statushooks console --local <stateFile>` in `cwd` and resolves once it printed its URL. */
export async function startConsoleProcess(cwd: string, stateFile: string): Promise<ConsoleProcess> {
  let output = '';
  const child = spawn(process.execPath, [CLI, 'console', '--local', stateFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output += `${line}\n`;
      const match = /^console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43})$/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`console exited early (${code}):\n${output}`)));
  });
  return {
    process: child,
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
