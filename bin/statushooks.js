#!/usr/bin/env node
'use strict';
// Starts the TypeScript CLI in a checkout without a build step. Most commands run from a bundle of
// the CLI that scripts/cli-bundle.cjs builds on first use and rebuilds whenever a source file
// changes: it starts in about half the time. `dev`, `console`, and any command when the bundle
// cannot be built, run from source through tsx's CommonJS hook, which compiles each TypeScript
// module as it is required (only the CommonJS hook: the CLI loads its modules with require, and
// tsx's ESM hooks would cost every command about 0.2 s more to start).
function fromSource() {
  try {
    require('tsx/cjs');
    require('./statushooks.ts');
  } catch (error) {
    process.stderr.write(`error: cannot start the statushooks CLI: ${error && error.message ? error.message : error}\n`);
    process.exit(1);
  }
}

let bundle;
try {
  bundle = require('../scripts/cli-bundle.cjs');
} catch {
  bundle = undefined;
}
if (bundle === undefined) fromSource();
else {
  try {
    bundle.start(process.argv.slice(2), fromSource);
  } catch {
    fromSource();
  }
}
