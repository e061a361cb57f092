#!/usr/bin/env node
/**
 * Shrinks a function's source map to what makes its stack traces useful: every position of the
 * project's own code keeps its mapping (file, line, column, name), while a run of third-party code
 * (a path under node_modules/) keeps only its first position, so a frame inside a dependency still
 * names the dependency's file. Run by the bundling of each function (lib/function.ts) on its
 * `index.js.map`; without it the map is ~1.45× the minified bundle, mostly mappings of
 * dependencies nobody debugs from a Lambda stack trace.
 *
 * Usage: node scripts/trim-source-map.cjs <file.js.map>
 */
'use strict';
const fs = require('node:fs');
const { decode, encode } = require('@jridgewell/sourcemap-codec');

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

module.exports = { trimSourceMap };

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: trim-source-map <file.js.map>');
    process.exit(2);
  }
  const before = fs.statSync(file).size;
  fs.writeFileSync(file, JSON.stringify(trimSourceMap(JSON.parse(fs.readFileSync(file, 'utf8')))));
  if (process.env.STATUSHOOKS_TRIM_VERBOSE) console.error(`${file}: ${before} → ${fs.statSync(file).size} bytes`);
}
