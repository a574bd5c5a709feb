// The docs' environment-variable tables, generated from the settings schema between marker comments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KAFKA_DEFAULTS } from '@streamloop/kafka';
import { formatDuration } from './duration';
import { ENV_TABLE_NOTE, renderEnvTable, updateEnvTables } from './env-docs';
import { describeSettings, type SettingDescription } from './settings';

const HEADER = '| variable | meaning | default |\n| --- | --- | --- |';

test('env table: one row per schema variable, with the schema\'s description and default', () => {
  const variables = describeSettings();
  const rows = renderEnvTable(variables).split('\n').slice(2);
  assert.equal(rows.length, variables.length);
  assert.deepEqual(rows.map((r) => /^\| `([A-Z_]+)` \|/.exec(r)?.[1]), variables.map((v) => v.name));
  const session = rows.find((r) => r.startsWith('| `KAFKA_SESSION_TIMEOUT` |'))!;
  const described = variables.find((v) => v.name === 'KAFKA_SESSION_TIMEOUT')!;
  assert.equal(session, `| \`KAFKA_SESSION_TIMEOUT\` | ${described.description} | \`${formatDuration(KAFKA_DEFAULTS.sessionTimeoutMs)}\` |`);
  assert.match(rows.find((r) => r.startsWith('| `CLICKHOUSE_URL` |'))!, /\| embedded chDB in `CLICKHOUSE_DATA_DIR` \|$/, 'no default: what happens when unset');
  assert.match(rows.find((r) => r.startsWith('| `KAFKA_SASL_PASSWORD` |'))!, /\| unset \|$/);
});

test('env table: a pipe or a line break in a description cannot break the table', () => {
  const odd: SettingDescription[] = [{ name: 'KAFKA_BROKERS', description: 'a | b\n  c', default: 'x|y' }];
  assert.equal(renderEnvTable(odd), `${HEADER}\n| \`KAFKA_BROKERS\` | a \\| b c | \`x\\|y\` |`);
});

const DOC = ['# Title', '', 'before', '<!-- env:start PORT HOST -->', '| stale |', '<!-- env:end -->', 'after', ''].join('\n');

test('env blocks: the lines between the markers are regenerated, the rest kept; the names chosen, in their order', () => {
  const { text, blocks } = updateEnvTables(DOC, 'doc.md');
  const lines = text.split('\n');
  assert.deepEqual(lines.slice(0, 4), ['# Title', '', 'before', '<!-- env:start PORT HOST -->']);
  assert.equal(lines[4], ENV_TABLE_NOTE);
  assert.deepEqual(lines.slice(7, 9).map((r) => r.split(' | ')[0]), ['| `PORT`', '| `HOST`']);
  assert.deepEqual(lines.slice(9), ['<!-- env:end -->', 'after', '']);
  assert.deepEqual(blocks, [{ line: 4, stale: true }]);
  const again = updateEnvTables(text, 'doc.md');
  assert.equal(again.text, text, 'generating twice gives the same text');
  assert.deepEqual(again.blocks, [{ line: 4, stale: false }]);
});

test('env blocks: a changed description in the schema makes a committed table stale', () => {
  const current = updateEnvTables('<!-- env:start -->\n<!-- env:end -->\n', 'doc.md').text;
  const changed = describeSettings().map((v) => (v.name === 'KAFKA_BROKERS' ? { ...v, description: `${v.description}, now reworded` } : v));
  const { text, blocks } = updateEnvTables(current, 'doc.md', changed);
  assert.deepEqual(blocks, [{ line: 1, stale: true }]);
  assert.match(text, /now reworded/);
  assert.deepEqual(updateEnvTables(current, 'doc.md').blocks, [{ line: 1, stale: false }]);
  const edited = current.replace('`127.0.0.1:9092`', '`localhost:9092`');
  assert.deepEqual(updateEnvTables(edited, 'doc.md').blocks, [{ line: 1, stale: true }], 'a hand edit of the table is stale too');
});

test('env blocks: bad markers are errors naming the file and line', () => {
  assert.throws(() => updateEnvTables('x\n<!-- env:start PORT NOPE -->\n<!-- env:end -->', 'README.md'), /^Error: README\.md:2: NOPE is not in the settings schema/);
  assert.throws(() => updateEnvTables('<!-- env:start -->\n| a |\n', 'README.md'), /^Error: README\.md:1: <!-- env:start --> without <!-- env:end -->/);
  assert.throws(() => updateEnvTables('<!-- env:start -->\n<!-- env:start PORT -->\n<!-- env:end -->', 'a.md'), /^Error: a\.md:2: a new <!-- env:start --> before the <!-- env:end --> of the one on line 1/);
  assert.throws(() => updateEnvTables('<!-- env:end -->', 'a.md'), /^Error: a\.md:1: <!-- env:end --> without a <!-- env:start --> before it/);
  assert.throws(() => updateEnvTables('<!-- env:start port -->\n<!-- env:end -->', 'a.md'), /^Error: a\.md:1: expected <!-- env:start --> or <!-- env:start NAME NAME \.\.\. -->/);
});
