/**
 * The synthesis cache with the real CDK app: a second context reuses the first one's bundles, and
 * what it writes is exactly what a full synthesis writes (template, asset paths and bundles).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesizeCached } from '../../local/synth';
import type { CfnTemplate } from '../../local/template';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-synth-reuse-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Each function's asset folder, by logical id. */
function assetsOf(template: CfnTemplate): Record<string, string> {
  const assets: Record<string, string> = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Metadata?.['aws:asset:path'];
    if (r.Type === 'AWS::Lambda::Function' && typeof p === 'string') assets[id] = p;
  }
  return assets;
}

test('a stage with other settings reuses the bundles and equals a full synthesis of that stage', async () => {
  // Two caches at the same depth, so source maps hold the same relative paths in both.
  const reuseCache = path.join(dir, 'a', 'synth');
  const fullCache = path.join(dir, 'b', 'synth');
  const stage = { maxAttempts: 7, retrySchedule: '1,2,3,4,5,6', deliveryLog: 'failures' };

  const first = await synthesizeCached({ cwd: ROOT, context: { maxAttempts: 4 }, cacheDir: reuseCache });
  const reused = await synthesizeCached({ cwd: ROOT, context: stage, cacheDir: reuseCache });
  const full = await synthesizeCached({ cwd: ROOT, context: stage, cacheDir: fullCache });

  expect(reused.assemblyDir).not.toBe(first.assemblyDir);
  const withoutMetadataResource = (t: CfnTemplate) => ({ ...t, Resources: Object.fromEntries(Object.entries(t.Resources).filter(([, r]) => r.Type !== 'AWS::CDK::Metadata')) });
  expect(withoutMetadataResource(reused.template)).toEqual(withoutMetadataResource(full.template));
  // The stage's own settings are in it (not the first stage's).
  const fn = Object.values(reused.template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties?.Environment).includes('MAX_ATTEMPTS'));
  expect(JSON.stringify(fn?.Properties?.Environment)).toContain('"MAX_ATTEMPTS":"7"');
  const assets = assetsOf(reused.template);
  expect(Object.keys(assets).length).toBeGreaterThanOrEqual(2);
  for (const asset of new Set(Object.values(assets))) {
    for (const file of ['index.js', 'index.js.map']) {
      expect(fs.readFileSync(path.join(reused.assemblyDir, asset, file)).equals(fs.readFileSync(path.join(full.assemblyDir, asset, file)))).toBe(true);
    }
  }
  // The reused assembly stands alone: the first may be pruned.
  fs.rmSync(first.assemblyDir, { recursive: true, force: true });
  for (const asset of Object.values(assets)) expect(fs.existsSync(path.join(reused.assemblyDir, asset, 'index.js'))).toBe(true);
});
