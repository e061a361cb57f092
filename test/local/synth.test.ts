/** The synthesis cache: what it keeps, what it removes (no CDK synthesis runs here). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pruneCache, synthesizeCached } from '../../local/synth';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-synth-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function folder(root: string, name: string, ageMs: number): void {
  const p = path.join(root, name);
  fs.mkdirSync(p, { recursive: true });
  const t = new Date(Date.now() - ageMs);
  fs.utimesSync(p, t, t);
}

test('pruneCache keeps the most recent assemblies and removes tmp- folders older than an hour', () => {
  for (let i = 0; i < 10; i++) folder(dir, `assembly${i}`, i * 60_000);
  folder(dir, 'tmp-0123456789ab', 2 * 3_600_000);
  folder(dir, 'tmp-ba9876543210', 5 * 60_000);

  pruneCache(dir, 8);

  expect(fs.readdirSync(dir).sort()).toEqual([...Array.from({ length: 8 }, (_, i) => `assembly${i}`), 'tmp-ba9876543210'].sort());
});

test('pruneCache of a folder that does not exist does nothing', () => {
  expect(() => pruneCache(path.join(dir, 'missing'), 8)).not.toThrow();
});

test('a synthesis that fails half-way leaves no tmp- folder behind', async () => {
  // A project whose app writes part of its assembly, then fails (as a failed bundling does).
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(
    path.join(dir, 'lib', 'app.js'),
    `const fs = require('node:fs');
     const path = require('node:path');
     exports.createApp = ({ outdir }) => ({
       app: { synth() { fs.mkdirSync(path.join(outdir, 'asset.1'), { recursive: true }); fs.writeFileSync(path.join(outdir, 'asset.1', 'index.js'), ''); throw new Error('bundling failed'); } },
       stack: { stackName: 'S', artifactId: 'S' },
     });`,
  );
  const root = path.join(dir, 'node_modules', '.cache', 'statushooks', 'synth');
  const exitListeners = process.listenerCount('exit');

  await expect(synthesizeCached({ cwd: dir, context: {} })).rejects.toThrow('bundling failed');

  expect(fs.readdirSync(root)).toEqual([]);
  expect(process.listenerCount('exit')).toBe(exitListeners);
});
