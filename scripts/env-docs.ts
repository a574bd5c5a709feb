// Writes the environment-variable tables of the docs from the settings schema (libs/config/src/settings.ts), between
// <!-- env:start --> and <!-- env:end --> in any *.md of the repository; with --check, writes nothing and fails when a
// committed table differs from what the schema generates (CI runs it: a table cannot drift from the code).
//   npm run gen:env-docs       node --import tsx scripts/env-docs.ts
//   npm run check:env-docs     node --import tsx scripts/env-docs.ts --check
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { updateEnvTables } from '@streamloop/config';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
const SKIPPED = new Set(['node_modules', 'dist', 'tmp']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const stale: string[] = [];
const written: string[] = [];
let tables = 0;
try {
  for (const path of markdownFiles(root)) {
    const file = relative(root, path);
    const text = readFileSync(path, 'utf8');
    if (!text.includes('<!-- env:')) continue;
    const updated = updateEnvTables(text, file);
    tables += updated.blocks.length;
    stale.push(...updated.blocks.filter((b) => b.stale).map((b) => `${file}:${b.line}`));
    if (!check && updated.text !== text) {
      writeFileSync(path, updated.text);
      written.push(file);
    }
  }
} catch (error) {
  console.error(`env docs: ${(error as Error).message}`);
  process.exit(1);
}

if (tables === 0) {
  // Deleting the markers must not turn the check into one that always passes.
  console.error('env docs: no <!-- env:start --> ... <!-- env:end --> table in any *.md file; README.md and docs/pipeline-spec.md should have one');
  process.exit(1);
}
if (check && stale.length > 0) {
  console.error([
    'env docs: these environment-variable tables differ from the settings schema (libs/config/src/settings.ts):',
    ...stale.map((s) => `  ${s}`),
    'Run `npm run gen:env-docs` and commit the result (change a variable in the schema, not in the table).',
  ].join('\n'));
  process.exit(1);
}
console.log(check
  ? `env docs: ${tables} table(s) match the settings schema`
  : `env docs: ${tables} table(s) generated${written.length > 0 ? `; rewrote ${written.join(', ')}` : ', all already current'}`);
