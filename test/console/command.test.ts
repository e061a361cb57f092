/**
 * `statushooks console` as a command: its options are checked like every command's, and a target
 * that cannot be resolved stops it before anything listens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli } from '../cli/helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'statushooks-console-cmd-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a port outside 0–65535 is a usage error (exit 2)', async () => {
  const r = await cli(['console', '--port', '70000', '--local', 'dev.json'], { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('error: --port: expected a port number from 0 to 65535 (0: any free port), got "70000"\n');
  expect(r.stdout).toBe('');
});

test('--stack and --local together are a usage error, as for every command', async () => {
  const r = await cli(['console', '--stack', 'StatusHooks', '--local', 'dev.json'], { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('error: use either --stack or --local, not both\n');
});

test('without a target it fails like any command and serves nothing', async () => {
  const r = await cli(['console'], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: no target: no --stack given and no local runtime state \(\.statushooks\/dev\.json\)/);
  expect(r.stdout).not.toContain('console:');
});

test('--help says where it listens, that it opens nothing and what the token is for', async () => {
  const r = await cli(['console', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('statushooks console [options]');
  expect(r.stdout).toContain('listens on 127.0.0.1 only and opens nothing by itself');
  expect(r.stdout).toContain('a request without it gets 401');
});
