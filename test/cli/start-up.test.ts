/**
 * How bin/statushooks.js starts a command: from a bundle of the CLI built on first use and rebuilt
 * whenever what it was built from changes, or from source (`dev`, `console`, or when there is no
 * usable bundle). Whichever way, the command does the same. And how it ends when its reader goes.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { version } from '../../package.json';
import { startDynalite } from '../dynalite';
import { CLI, cli, ROOT } from './helpers';

jest.setTimeout(60_000);

const MARK = '// statushooks-cli-bundle ';
let temp: string;

beforeEach(() => {
  temp = mkdtempSync(path.join(tmpdir(), 'statushooks-start-up-'));
});
afterEach(() => rmSync(temp, { recursive: true, force: true }));

function manifestOf(file: string): { inputs: Record<string, string> } {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  expect(first.startsWith(MARK)).toBe(true);
  return JSON.parse(first.slice(MARK.length)) as { inputs: Record<string, string> };
}

test('a command builds the bundle on first use, reuses it while nothing changed, and never runs stale code after a source edit', async () => {
  // A copy of the checkout (sharing node_modules), so its sources can be edited.
  const checkout = path.join(temp, 'checkout');
  for (const entry of ['bin', 'cli', 'lambdas', 'local', 'scripts', 'package.json', 'tsconfig.json']) cpSync(path.join(ROOT, entry), path.join(checkout, entry), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
  const cache = path.join(temp, 'cache');
  const bundle = path.join(cache, 'cli.js');
  const run = (args: string[]) => cli(args, { script: path.join(checkout, 'bin', 'statushooks.js'), cwd: checkout, env: { STATUSHOOKS_CLI_CACHE: cache } });

  const first = await run(['verify', '--help']);
  expect(first).toMatchObject({ code: 0, stderr: '' });
  expect(first.stdout).toContain('check a webhook signature as a receiver does');
  expect(Object.keys(manifestOf(bundle).inputs)).toEqual(expect.arrayContaining(['bin/statushooks.ts', 'cli/commands/verify.ts', 'package.json', 'node_modules/.package-lock.json']));
  const built = statSync(bundle).mtimeMs;

  expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  expect(statSync(bundle).mtimeMs).toBe(built);

  const verifySource = path.join(checkout, 'cli', 'commands', 'verify.ts');
  writeFileSync(verifySource, readFileSync(verifySource, 'utf8').replace('check a webhook signature as a receiver does', 'CHECK A SIGNATURE, EDITED'));
  const pkg = path.join(checkout, 'package.json');
  writeFileSync(pkg, readFileSync(pkg, 'utf8').replace(`"version": "${version}"`, '"version": "9.8.7"'));
  const edited = await run(['verify', '--help']);
  expect(edited).toMatchObject({ code: 0, stderr: '' });
  expect(edited.stdout).toContain('CHECK A SIGNATURE, EDITED');
  expect(edited.stdout).not.toContain('check a webhook signature');
  const rebuilt = statSync(bundle).mtimeMs;
  expect(rebuilt).not.toBe(built);
  expect(await run(['--version'])).toMatchObject({ code: 0, stdout: '9.8.7\n' });
  expect(statSync(bundle).mtimeMs).toBe(rebuilt);
});

test('a cache that cannot be written, or holds something that is not a bundle, does not stop a command', async () => {
  const file = path.join(temp, 'a-file');
  writeFileSync(file, 'not a folder');
  const unwritable = await cli(['--version'], { env: { STATUSHOOKS_CLI_CACHE: path.join(file, 'cache') } });
  expect(unwritable).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });

  const cache = path.join(temp, 'cache');
  const bundle = path.join(cache, 'cli.js');
  cpSync(file, bundle);
  writeFileSync(bundle, 'console.log("stale code that must not run");\n');
  const replaced = await cli(['--version'], { env: { STATUSHOOKS_CLI_CACHE: cache } });
  expect(replaced).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  expect(Object.keys(manifestOf(bundle).inputs)).toContain('bin/statushooks.ts');
});

test('`dev` and `console` start from source, as does every command with STATUSHOOKS_CLI_FROM_SOURCE=1: no bundle is built', async () => {
  const cache = path.join(temp, 'cache');
  const [dev, consoleHelp, forced] = await Promise.all([
    cli(['dev', '--help'], { env: { STATUSHOOKS_CLI_CACHE: cache } }),
    cli(['console', '--help'], { env: { STATUSHOOKS_CLI_CACHE: cache } }),
    cli(['verify', '--help'], { env: { STATUSHOOKS_CLI_CACHE: cache, STATUSHOOKS_CLI_FROM_SOURCE: '1' } }),
  ]);
  expect(dev).toMatchObject({ code: 0, stderr: '' });
  expect(dev.stdout).toContain('Usage: statushooks dev');
  expect(consoleHelp).toMatchObject({ code: 0, stderr: '' });
  expect(consoleHelp.stdout).toContain('Usage: statushooks console');
  expect(forced).toMatchObject({ code: 0, stderr: '' });
  expect(forced.stdout).toContain('Usage: statushooks verify');
  expect(existsSync(path.join(cache, 'cli.js'))).toBe(false);
});

test('a reader that closes the pipe early (`| head -1`) ends the command quietly, with exit 0, whichever way it started', async () => {
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'subscriptions', '--help'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  const results = await Promise.all([run({}), run({ STATUSHOOKS_CLI_FROM_SOURCE: '1' })]);
  expect(results).toEqual([
    { code: 0, stderr: '' },
    { code: 0, stderr: '' },
  ]);
});

test('STATUSHOOKS_DEBUG=1 traces an unexpected error to the TypeScript sources, also from the bundle', async () => {
  // A DynamoDB without the stack's tables: listing subscriptions meets an AWS error the CLI does not expect.
  const { endpoint, close } = await startDynalite();
  try {
    const state = path.join(temp, 'dev.json');
    writeFileSync(state, JSON.stringify({ region: 'eu-central-1', endpoints: { eventbridge: endpoint, dynamodb: endpoint, sqs: endpoint }, SubscriptionsTableName: 'Missing' }));
    const env = { STATUSHOOKS_CLI_CACHE: path.join(temp, 'cache'), AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
    const args = ['subscriptions', 'list', '--tenant', 'acme-shop', '--local', state];
    const plain = await cli(args, { env });
    expect(plain).toEqual({ code: 1, stdout: '', stderr: 'error: Requested resource not found (ResourceNotFoundException)\n' });
    const debug = await cli(args, { env: { ...env, STATUSHOOKS_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^error: Requested resource not found \(ResourceNotFoundException\)\nResourceNotFoundException: /);
    // The exact line of the call in the source, so a map shifted by the bundle's manifest line shows.
    const sourceLines = readFileSync(path.join(ROOT, 'cli', 'commands', 'subscriptions.ts'), 'utf8').split('\n');
    const line = sourceLines.findIndex((l) => l.includes('await c.store().listByTenant(tenantId)')) + 1;
    expect(line).toBeGreaterThan(0);
    expect(debug.stderr).toMatch(new RegExp(`at async listSubscriptionsIn \\(.*cli/commands/subscriptions\\.ts:${line}:\\d+\\)`));
    expect(debug.stderr).not.toContain('cli.js');
  } finally {
    await close();
  }
});

test('`npm start` stopped with SIGTERM (a process manager, `kill <pid of npm>`) stops the runtime and removes its state file', async () => {
  // A package whose start script is this one's (the dev command of this checkout), in a folder of its own.
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts;
  writeFileSync(path.join(temp, 'package.json'), JSON.stringify({ name: 'start-check', private: true, scripts: { start: `${scripts.start} --no-demo` } }));
  for (const entry of ['bin', 'lib', 'node_modules']) symlinkSync(path.join(ROOT, entry), path.join(temp, entry), 'dir');
  for (const entry of ['cdk.json', 'tsconfig.json']) symlinkSync(path.join(ROOT, entry), path.join(temp, entry));
  const npm = spawn('npm', ['start'], { cwd: temp, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  let output = '';
  npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  const stateFile = path.join(temp, '.statushooks', 'dev.json');
  let pid = 0;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return pid > 0;
    } catch {
      return false;
    }
  };
  try {
    const deadline = Date.now() + 45_000;
    while (!existsSync(stateFile) || !/Ctrl-C/.test(output)) {
      if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    pid = (JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number }).pid;
    npm.kill('SIGTERM');
    await exited;
    // The runtime's own process stopped too (not left running without a terminal), and cleaned up.
    const stopDeadline = Date.now() + 20_000;
    while (alive() && Date.now() < stopDeadline) await new Promise((r) => setTimeout(r, 200));
    expect(alive()).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
    expect(output).toContain('SIGTERM: stopping');
  } finally {
    if (npm.exitCode === null) npm.kill('SIGKILL');
    // A runtime left behind by a failure of this test is stopped, by its own pid.
    if (alive()) process.kill(pid, 'SIGTERM');
  }
}, 90_000);
