#!/usr/bin/env node
/**
 * Shrinks a function's source map to what makes its stack traces useful: every position of the
 * project's own code keeps its mapping (file, line, column, name), while a run of third-party code
 * (a path under node_modules/) keeps only its first position, so a frame inside a dependency still
 * names the dependency's file. Run by the bundling of each function (lib/function.ts) on its
 * `index.js.map`; without it the map is ~1.45× the minified bundle, mostly mappings of
 * dependencies nobody debugs from a Lambda stack trace.
 *
 * The file names in `sources` are rewritten relative to the project's root (`lambdas/…`,
 * `node_modules/…`) instead of to wherever the bundle was built (cdk.out, a temporary folder, the
 * local runtime's cache): the map, and so the asset's hash, are then the same bytes whatever the
 * checkout's path, and a stack trace on Lambda names `/var/task/lambdas/…/handler.ts:line`.
 *
 * Usage: node scripts/trim-source-map.cjs <file.js.map>
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { decode, encode } = require('@jridgewell/sourcemap-codec');

/** The project's root: this script sits in its scripts/ folder. */
const ROOT = path.resolve(__dirname, '..');

/**
 * `sources` relative to `root` instead of to `mapDir` (the map file's folder), with forward
 * slashes; a source outside the root, or not a file path (`<stdin>`), is left as it is.
 */
function relativeToRoot(sources, mapDir, root = ROOT) {
  return sources.map((source) => {
    if (source.startsWith('<')) return source;
    const relative = path.relative(root, path.resolve(mapDir, source));
    return relative.startsWith('..') || path.isAbsolute(relative) ? source : relative.split(path.sep).join('/');
  });
}

function trimSourceMap(map) {
  const thirdParty = map.sources.map((source) => /(^|\/)node_modules\//.test(source));
  const names = [];
  const nameIndex = new Map();
  const keepName = (i) => {
    const name = map.names[i];
    if (!nameIndex.has(name)) {
      nameIndex.set(name, names.length);
      names.push(name);
    }
    return nameIndex.get(name);
  };
  const lines = decode(map.mappings).map((segments) => {
    const kept = [];
    let previousSource = -1;
    for (const segment of segments) {
      if (segment.length === 1) {
        kept.push(segment);
        previousSource = -1;
        continue;
      }
      const source = segment[1];
      if (thirdParty[source]) {
        if (source !== previousSource) kept.push([segment[0], source, segment[2], segment[3]]);
      } else {
        kept.push(segment.length === 5 ? [segment[0], source, segment[2], segment[3], keepName(segment[4])] : segment);
      }
      previousSource = source;
    }
    return kept;
  });
  return { ...map, names, mappings: encode(lines) };
}

module.exports = { trimSourceMap, relativeToRoot };

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: trim-source-map <file.js.map>');
    process.exit(2);
  }
  const before = fs.statSync(file).size;
  const map = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Paths first: a dependency's file must read as node_modules/… wherever the bundle was built
  // (the local runtime builds inside node_modules/.cache, where relative paths hide that).
  map.sources = relativeToRoot(map.sources, path.dirname(path.resolve(file)));
  fs.writeFileSync(file, JSON.stringify(trimSourceMap(map)));
  if (process.env.STATUSHOOKS_TRIM_VERBOSE) console.error(`${file}: ${before} → ${fs.statSync(file).size} bytes`);
}
