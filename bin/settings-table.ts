// `npm run settings:table`: prints README.md's configuration table, rendered from the setting
// declarations (lambdas/core/settings.ts), between the markers test/infra/settings-table.test.ts
// checks. Paste the output over the block in README.md whenever a setting changes.
import { settingsTableBlock } from '../lambdas/core/settings';

process.stdout.write(`${settingsTableBlock()}\n`);
