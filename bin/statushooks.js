#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI in a checkout without a build step: tsx's CommonJS hook compiles each
// TypeScript module as it is required, from any working directory. Only the CommonJS hook: the
// CLI loads its modules with require (also those it loads lazily, like the local runtime behind
// `dev`), and tsx's ESM hooks would cost every command about 0.2 s more to start.
try {
  require('tsx/cjs');
  require('./statushooks.ts');
} catch (error) {
  process.stderr.write(`error: cannot start the statushooks CLI: ${error && error.message ? error.message : error}\n`);
  process.exit(1);
}
