import { describeSettings, type SettingDescription } from './settings';

/**
 * The environment-variable tables of the docs are generated from the settings schema between marker comments:
 *
 *   <!-- env:start -->                          every variable, in the schema's order
 *   <!-- env:start KAFKA_BROKERS PORT -->       these, in this order
 *   ...generated lines...
 *   <!-- env:end -->
 *
 * `npm run gen:env-docs` rewrites them; `npm run check:env-docs` (CI) fails when a committed one is stale.
 */
const START = /^<!-- env:start((?: [A-Z][A-Z0-9_]*)*) -->$/;
const END = '<!-- env:end -->';
export const ENV_TABLE_NOTE = '<!-- generated from the settings schema (libs/config/src/settings.ts) by `npm run gen:env-docs`: edit the schema, not this table -->';

/** A markdown table of the given variables: name, what it does, its default (or what happens when it is unset). */
export function renderEnvTable(variables: readonly SettingDescription[]): string {
  // A pipe would end the cell early; a newline would end the row.
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
  const shownDefault = (v: SettingDescription) => (v.default !== undefined ? (v.default === '' ? 'empty' : `\`${cell(v.default)}\``) : cell(v.unset ?? 'unset'));
  return [
    '| variable | meaning | default |',
    '| --- | --- | --- |',
    ...variables.map((v) => `| \`${v.name}\` | ${cell(v.description)} | ${shownDefault(v)} |`),
  ].join('\n');
}

export interface EnvTableBlock {
  /** 1-based line of the block's start marker. */
  line: number;
  /** True when the block's lines differ from what the schema generates. */
  stale: boolean;
}

/**
 * The document with every env block regenerated from `variables` (the settings schema's by default), and each block's
 * place and whether it was stale. A malformed block (no end, a start inside a block, an unknown variable) is an
 * error naming `file` and the line.
 */
export function updateEnvTables(markdown: string, file: string, variables: readonly SettingDescription[] = describeSettings()): { text: string; blocks: EnvTableBlock[] } {
  const byName = new Map(variables.map((v) => [v.name as string, v]));
  const lines = markdown.split('\n');
  const out: string[] = [];
  const blocks: EnvTableBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === END) throw new Error(`${file}:${i + 1}: ${END} without a <!-- env:start --> before it`);
    if (!line.trimStart().startsWith('<!-- env:start')) {
      out.push(line);
      continue;
    }
    const start = START.exec(line.trim());
    if (!start) throw new Error(`${file}:${i + 1}: expected <!-- env:start --> or <!-- env:start NAME NAME ... -->, got ${line.trim()}`);
    const names = start[1].trim().split(' ').filter(Boolean);
    const unknown = names.filter((n) => !byName.has(n));
    if (unknown.length > 0) {
      throw new Error(`${file}:${i + 1}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the settings schema (libs/config/src/settings.ts); it has ${[...byName.keys()].join(', ')}`);
    }
    let end = i + 1;
    while (end < lines.length && lines[end].trim() !== END) {
      if (lines[end].trimStart().startsWith('<!-- env:start')) throw new Error(`${file}:${end + 1}: a new <!-- env:start --> before the ${END} of the one on line ${i + 1}`);
      end++;
    }
    if (end === lines.length) throw new Error(`${file}:${i + 1}: <!-- env:start --> without ${END}`);
    const generated = [ENV_TABLE_NOTE, renderEnvTable(names.length > 0 ? names.map((n) => byName.get(n)!) : variables)].join('\n').split('\n');
    const current = lines.slice(i + 1, end);
    blocks.push({ line: i + 1, stale: current.length !== generated.length || current.some((l, k) => l !== generated[k]) });
    out.push(line, ...generated, lines[end]);
    i = end;
  }
  return { text: out.join('\n'), blocks };
}
