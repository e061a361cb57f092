/**
 * A user who clones the repository has nothing beside it: no file may point outside the
 * repository, and every relative link of the documentation must lead to a file that exists.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const SKIP = new Set(['node_modules', '.git', 'cdk.out', '.statushooks', 'coverage']);
const TEXT = /\.(ts|js|mjs|cjs|json|md|sh|yml|yaml)$|^run$/;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name) || name.startsWith('.jest')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else if (TEXT.test(name) && name !== 'package-lock.json') out.push(path);
  }
  return out;
}

const all = files(root);

describe('the repository stands on its own', () => {
  test('nothing installed is committed: no node_modules, as a folder or a link', () => {
    // A symlinked node_modules is not a directory, so `node_modules/` in .gitignore would not stop it.
    const tracked = execFileSync('git', ['ls-files', '--', 'node_modules', '*/node_modules'], { cwd: root, encoding: 'utf8' });
    expect(tracked).toBe('');
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('node_modules');
  });

  test('no file refers to the design brief or a folder beside the repository', () => {
    const offenders = all
      .filter((f) => f !== __filename)
      .filter((f) => /\.\.\/shared\b|ARCHITECTURE\.md|STYLE\.md/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  test('every relative link in the documentation leads to a file inside the repository', () => {
    const broken: string[] = [];
    for (const file of all.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
        const path = resolve(dirname(file), target);
        if (!path.startsWith(root + '/') || !existsSync(path)) broken.push(`${relative(root, file)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('the contracts document the code refers to exists and holds the six sections', () => {
    const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
    for (const section of ['§1 Producers', '§2 Customers', '§3 Operators', '§4 Delivery', '§5 The local runtime', '§6 Code layout']) {
      expect(doc).toContain(`## ${section}`);
    }
  });

  test('every section of docs/architecture.md that a file refers to (`docs/architecture.md §N`) exists', () => {
    const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
    const sections = new Set([...doc.matchAll(/^#{2,3} (§\d+(?:\.\d+)?) /gm)].map((m) => m[1]!));
    const dangling: string[] = [];
    for (const file of all.filter((f) => f !== __filename)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/architecture\.md\)? (§\d+(?:\.\d+)?)/g)) {
        if (!sections.has(match[1]!)) dangling.push(`${relative(root, file)} → ${match[1]}`);
      }
    }
    expect(dangling).toEqual([]);
  });
});
