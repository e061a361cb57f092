import * as fs from 'node:fs';
import * as path from 'node:path';
import { declarations, renderSettingsTable, SETTINGS_TABLE_END, SETTINGS_TABLE_START, settingsTableBlock } from '../../lambdas/core/settings';

const ROOT = path.resolve(__dirname, '../..');

/** The block from the start marker to the end marker (each on a line of its own), or undefined. */
function tableIn(file: string): string | undefined {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const start = lines.indexOf(SETTINGS_TABLE_START);
  const end = lines.indexOf(SETTINGS_TABLE_END, start + 1);
  if (start < 0 || end < 0) return undefined;
  return lines.slice(start, end + 1).join('\n');
}

describe('the configuration table is rendered from the setting declarations', () => {
  // Whenever a declaration changes without the README following, this test fails on purpose:
  // paste the output of `npm run settings:table` between the markers.
  it('README.md contains exactly the rendered table between <!-- settings:start --> and <!-- settings:end -->', () => {
    const found = tableIn('README.md');
    if (found === undefined) {
      throw new Error(`README.md has no ${SETTINGS_TABLE_START} … ${SETTINGS_TABLE_END} block: paste the output of \`npm run settings:table\` into its configuration section`);
    }
    expect(found).toBe(settingsTableBlock());
  });

  it('lists every CDK context key, Lambda variable and dev flag a user can set', () => {
    const table = renderSettingsTable();
    for (const word of ['`busName`', '`maxAttempts`', '`RETRY_SCHEDULE` (delivery)', '`SUBSCRIPTION_CACHE_TTL_MS` (fan-out, delivery)', '`statushooks dev --max-attempts`', 'output `AllowHttpEndpoints`', '`nag`']) {
      expect(table).toContain(word);
    }
    for (const [name, d] of declarations()) expect(table).toMatch(new RegExp(`^\\| \`${d.context ?? name}\` \\|`, 'm'));
  });
});
