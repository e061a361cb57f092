#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI in a checkout without a build step. Importing `tsx` does what
// `node --import tsx` does: it registers tsx's CommonJS and ESM hooks, so TypeScript loads from
// any working directory, including modules imported lazily (the local runtime behind `dev`).
import('tsx')
  .then(() => require('./statushooks.ts'))
  .catch((error) => {
    process.stderr.write(`error: cannot start the statushooks CLI: ${error && error.message ? error.message : error}\n`);
    process.exit(1);
  });
