/** The synthesis cache: what it keeps, what it removes (no CDK synthesis runs here). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pruneCache, readAssembly, synthesizeApp, synthesizeCached } from '../../local/synth';

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

/**
 * A project whose app behaves as CDK does for bundled assets: it bundles (counted in bundles.log)
 * into asset.<content hash>, unless the context says `aws:cdk:bundling-stacks` = [], when it
 * writes the source folder as the asset path, as CDK does.
 */
function fakeProject(root: string, handlers: Record<string, string>): { bundles: () => number } {
  fs.mkdirSync(path.join(root, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(root, 'lambdas'), { recursive: true });
  for (const [id, code] of Object.entries(handlers)) fs.writeFileSync(path.join(root, 'lambdas', `${id}.js`), code);
  fs.writeFileSync(
    path.join(root, 'lib', 'app.js'),
    `const fs = require('node:fs');
     const path = require('node:path');
     const crypto = require('node:crypto');
     const root = path.join(__dirname, '..');
     exports.createApp = ({ outdir, context }) => ({
       app: { synth() {
         const skip = Array.isArray(context['aws:cdk:bundling-stacks']) && context['aws:cdk:bundling-stacks'].length === 0;
         const Resources = { Table: { Type: 'AWS::DynamoDB::Table', Properties: { Name: String(context.name) } } };
         const files = context.only ? [context.only + '.js'] : fs.readdirSync(path.join(root, 'lambdas')).sort();
         for (const file of files) {
           const code = fs.readFileSync(path.join(root, 'lambdas', file));
           const hash = crypto.createHash('sha256').update(code).digest('hex');
           let assetPath = root;
           if (!skip) {
             assetPath = 'asset.' + hash;
             fs.mkdirSync(path.join(outdir, assetPath), { recursive: true });
             fs.writeFileSync(path.join(outdir, assetPath, 'index.js'), code);
             fs.appendFileSync(path.join(root, 'bundles.log'), file + '\\n');
           }
           Resources[file.replace('.js', '')] = {
             Type: 'AWS::Lambda::Function',
             Properties: { Code: { S3Key: (skip ? 'placeholder' : hash) + '.zip' }, Environment: { Variables: { NAME: String(context.name) } } },
             Metadata: { 'aws:asset:path': assetPath, 'aws:asset:is-bundled': true, 'aws:asset:property': 'Code' },
           };
         }
         fs.mkdirSync(outdir, { recursive: true });
         fs.writeFileSync(path.join(outdir, 'S.template.json'), JSON.stringify({ Resources }));
         fs.writeFileSync(path.join(outdir, 'manifest.json'), JSON.stringify({ artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } } }));
       } },
       stack: { stackName: 'S', artifactId: 'S' },
     });`,
  );
  const log = path.join(root, 'bundles.log');
  return { bundles: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

test('another context with the same code reuses the cached bundles: the template is what a full synthesis writes', async () => {
  const project = fakeProject(dir, { FanOut: 'exports.handler = () => 1;', Delivery: 'exports.handler = () => 2;' });

  const first = await synthesizeCached({ cwd: dir, context: { name: 'a' } });
  expect(project.bundles()).toBe(2);
  const second = await synthesizeCached({ cwd: dir, context: { name: 'b' } });

  // No bundling for the second context, yet its template and code are those of a full synthesis.
  expect(project.bundles()).toBe(2);
  expect(second.assemblyDir).not.toBe(first.assemblyDir);
  const full = path.join(dir, 'full');
  await synthesizeApp({ cwd: dir, outdir: full, context: { name: 'b' } });
  expect(second.template).toEqual(readAssembly(full).template);
  expect(JSON.parse(fs.readFileSync(path.join(second.assemblyDir, 'S.template.json'), 'utf8'))).toEqual(second.template);
  for (const id of ['FanOut', 'Delivery']) {
    const assetPath = second.template.Resources[id]!.Metadata!['aws:asset:path'] as string;
    expect(fs.readFileSync(path.join(second.assemblyDir, assetPath, 'index.js'), 'utf8')).toBe(fs.readFileSync(path.join(full, assetPath, 'index.js'), 'utf8'));
  }
  // The first assembly can be pruned: the second owns a copy of the bundles.
  fs.rmSync(first.assemblyDir, { recursive: true, force: true });
  expect(readAssembly(second.assemblyDir).template).toEqual(second.template);
});

test('changed code is bundled again, and a context with a function the cached assembly lacks gets a full synthesis', async () => {
  const project = fakeProject(dir, { FanOut: 'exports.handler = () => 1;' });
  await synthesizeCached({ cwd: dir, context: { name: 'a' } });
  expect(project.bundles()).toBe(1);

  fs.writeFileSync(path.join(dir, 'lambdas', 'FanOut.js'), 'exports.handler = () => 3;');
  const changed = await synthesizeCached({ cwd: dir, context: { name: 'b' } });
  expect(project.bundles()).toBe(2);
  const asset = changed.template.Resources.FanOut!.Metadata!['aws:asset:path'] as string;
  expect(fs.readFileSync(path.join(changed.assemblyDir, asset, 'index.js'), 'utf8')).toBe('exports.handler = () => 3;');

  // A context with a function the cached assembly lacks: everything is bundled, nothing half-grafted.
  fs.writeFileSync(path.join(dir, 'lambdas', 'Delivery.js'), 'exports.handler = () => 2;');
  await synthesizeCached({ cwd: dir, context: { name: 'a', only: 'FanOut' } });
  expect(project.bundles()).toBe(3);
  const again = await synthesizeCached({ cwd: dir, context: { name: 'c' } });
  expect(project.bundles()).toBe(5);
  for (const id of ['FanOut', 'Delivery']) expect(fs.existsSync(path.join(again.assemblyDir, again.template.Resources[id]!.Metadata!['aws:asset:path'] as string, 'index.js'))).toBe(true);
});
