/**
 * The trimmed source map (scripts/trim-source-map.cjs) must still answer every stack frame: a
 * position in the project's own code maps exactly as before, a position inside a dependency still
 * names that dependency's file, and nothing maps into the wrong file.
 */
import { SourceMap, type SourceMapPayload } from 'node:module';
import * as path from 'node:path';
import { decode } from '@jridgewell/sourcemap-codec';
import * as esbuild from 'esbuild';
import { esbuildOptions } from '../../lib/bundle-options';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { trimSourceMap } = require('../../scripts/trim-source-map.cjs') as { trimSourceMap: (map: SourceMapPayload) => SourceMapPayload };

const ROOT = path.resolve(__dirname, '../..');

let original: SourceMapPayload;
let trimmed: SourceMapPayload;

beforeAll(async () => {
  // The delivery function as lib/function.ts bundles it (minified, SDK left out, no sources' text).
  const result = await esbuild.build(esbuildOptions({ entryPoints: [path.join(ROOT, 'lambdas/delivery/handler.ts')], outfile: path.join(ROOT, 'out.js'), write: false, logLevel: 'silent' }));
  original = JSON.parse(result.outputFiles!.find((f) => f.path.endsWith('.map'))!.text) as SourceMapPayload;
  trimmed = trimSourceMap(original);
});

const isDependency = (source: string) => /(^|\/)node_modules\//.test(source);

describe('trimmed source maps', () => {
  it('are at most half the size of the full map', () => {
    expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(original).length / 2);
  });

  it("map every position of the project's own code exactly as the full map does", () => {
    const full = new SourceMap(original);
    const lean = new SourceMap(trimmed);
    let checked = 0;
    decode(original.mappings).forEach((segments, line) => {
      for (const segment of segments) {
        if (segment.length < 4 || isDependency(original.sources[segment[1]!]!)) continue;
        const a = full.findEntry(line, segment[0]);
        const b = lean.findEntry(line, segment[0]);
        expect(b).toEqual(a);
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(1000);
  });

  it("name a dependency's own file for any position inside its code", () => {
    const lean = new SourceMap(trimmed);
    let checked = 0;
    decode(original.mappings).forEach((segments, line) => {
      for (const segment of segments) {
        if (segment.length < 4) continue;
        const source = original.sources[segment[1]!]!;
        if (!isDependency(source)) continue;
        const entry = lean.findEntry(line, segment[0]) as { originalSource?: string };
        // The whole path inside node_modules, not just a file name shared by many packages.
        const inPackage = source.slice(source.lastIndexOf('node_modules/'));
        expect(entry.originalSource ?? '').toMatch(new RegExp(`${inPackage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(1000);
  });
});
