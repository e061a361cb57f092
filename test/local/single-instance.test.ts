/**
 * One local runtime per folder: a second start in the same folder is refused with the running
 * one's pid and endpoints and leaves its files alone; once the first stops, or when its process
 * is gone without cleaning up, a new one starts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalRuntimeBusyError } from '../../local/instance-lock';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime';

jest.setTimeout(120_000);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let dir: string;
let stateFile: string;
const running: LocalRuntime[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-instance-'));
  stateFile = path.join(dir, '.statushooks', 'dev.json');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(lines: string[] = []): Promise<LocalRuntime> {
  const runtime = await startLocalRuntime({ stateFile, log: (l) => lines.push(l) });
  running.push(runtime);
  return runtime;
}

test('a second runtime in the same folder is refused, naming the first (pid, endpoints), and leaves its files intact', async () => {
  const first = await start();
  fs.appendFileSync(first.logFile, 'a line the first runtime wrote\n');
  const stateBefore = fs.readFileSync(stateFile, 'utf8');
  const logBefore = fs.readFileSync(first.logFile, 'utf8');

  const second = startLocalRuntime({ stateFile, log: () => undefined });
  await expect(second).rejects.toThrow(LocalRuntimeBusyError);
  const message = await second.catch((e: Error) => e.message);
  expect(message).toContain(`pid ${process.pid}`);
  expect(message).toContain(first.endpoints.eventbridge);
  expect(message).toContain(first.endpoints.sqs);

  // The refused start wrote nothing, truncated nothing and removed nothing.
  expect(fs.readFileSync(stateFile, 'utf8')).toBe(stateBefore);
  expect(fs.readFileSync(first.logFile, 'utf8').startsWith(logBefore)).toBe(true);
  expect(JSON.parse(stateBefore).endpoints).toEqual(first.endpoints);

  // Once the first has stopped, a new one starts in the folder.
  await first.stop();
  expect(fs.existsSync(stateFile)).toBe(false);
  const next = await start();
  expect(JSON.parse(fs.readFileSync(stateFile, 'utf8')).endpoints).toEqual(next.endpoints);
});

test('the lock of a runtime whose process is gone is taken over, with a note', async () => {
  // A process that has exited: its pid is no longer alive.
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(path.join(path.dirname(stateFile), 'dev.lock'), JSON.stringify({ pid: gone, startedAt: '2020-01-01T00:00:00.000Z', token: 'old' }));
  fs.writeFileSync(stateFile, '{"left":"behind"}');

  const lines: string[] = [];
  const runtime = await start(lines);

  expect(lines.some((l) => l.includes(`pid ${gone}`) && l.includes('taking over'))).toBe(true);
  expect(JSON.parse(fs.readFileSync(stateFile, 'utf8')).endpoints).toEqual(runtime.endpoints);
});
