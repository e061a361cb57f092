#!/usr/bin/env node
// CDK app entry (cdk.json: `npx tsx bin/app.ts`). Stage config comes from CDK context, see lib/app.ts.
import { createApp } from '../lib/app';

createApp().app.synth();
