#!/usr/bin/env node
// CDK app entry (cdk.json: `npx tsx bin/app.ts`). Stage config comes from CDK context, see lib/app.ts.
import { createApp } from '../lib/app';
import { StatusHooksConfigError } from '../lib/config-errors';
import type { NagChecks } from '../lib/nag';

let nag: NagChecks | undefined;
try {
  const built = createApp();
  nag = built.nag;
  built.app.synth();
} catch (error) {
  // A configuration mistake is the user's to fix: say what, not where in our code.
  if (!(error instanceof StatusHooksConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
} finally {
  // CDK only speaks about validation plugins when they fail: say that cdk-nag ran, and what it found.
  const summary = nag?.summary();
  if (summary) console.error(summary);
}
