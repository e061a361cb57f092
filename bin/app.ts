#!/usr/bin/env node
// CDK app entry (cdk.json: `npx tsx bin/app.ts`). Stage config comes from CDK context, see lib/app.ts.
import { createApp } from '../lib/app';
import { StatusHooksConfigError } from '../lib/errors';

try {
  createApp().app.synth();
} catch (error) {
  // A configuration mistake is the user's to fix: say what, not where in our code.
  if (!(error instanceof StatusHooksConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
