#!/usr/bin/env node
// Runs the test suites with node's test runner (through tsx), starting a local Kafka broker for the
// integration and end-to-end tests unless KAFKA_BROKERS points at one. Ends with "N passed, N failed, N skipped".
// Under CI=true a skipped test is a failure: CI has every part a test needs, so a skip there means a check did not run.
//   node scripts/run-tests.mjs            unit + integration + e2e
//   node scripts/run-tests.mjs --unit     unit tests only (no broker)
//   node scripts/run-tests.mjs FILE...    just these files
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync, readFileSync, mkdtempSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
function findTests(dir) {
  const out = [];
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// Explicit arguments may be files or folders (a folder means every *.test.ts below it).
const explicit = args.filter((a) => !a.startsWith('--')).flatMap((a) => (statSync(a).isDirectory() ? findTests(a) : [a]));

const unitFiles = [...findTests(join(root, 'libs')), ...findTests(join(root, 'services')), ...findTests(join(root, 'apps'))];
const brokerFiles = [...findTests(join(root, 'test'))];
const files = explicit.length > 0 ? explicit : unitOnly ? unitFiles : [...unitFiles, ...brokerFiles];
const needsBroker = files.some((f) => relative(root, f).startsWith('test'));

let startedPort = null;
const env = { ...process.env };
if (needsBroker && !env.KAFKA_BROKERS) {
  startedPort = String(29092 + Math.floor(Math.random() * 500) * 2);
  const r = spawnSync('bash', [join(root, 'deploy/local/kafka.sh'), 'start', startedPort], { stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) {
    console.error('could not start the local Kafka broker');
    process.exit(1);
  }
  env.KAFKA_BROKERS = `127.0.0.1:${startedPort}`;
}
const tapFile = join(mkdtempSync(join(tmpdir(), 'streamloop-tests-')), 'results.tap');

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`, ...files],
  { cwd: root, env, stdio: 'inherit' },
);
const stop = () => {
  if (startedPort) spawnSync('bash', [join(root, 'deploy/local/kafka.sh'), 'stop', startedPort], { stdio: 'inherit' });
};
process.on('SIGINT', () => { child.kill('SIGINT'); });
child.on('exit', (code) => {
  stop();
  let passed = 0, failed = 0, skipped = 0;
  try {
    const tap = readFileSync(tapFile, 'utf8');
    // The summary at the end of the TAP stream counts every test across all files.
    passed = Number(/^# pass (\d+)/m.exec(tap)?.[1] ?? 0);
    failed = Number(/^# fail (\d+)/m.exec(tap)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(tap)?.[1] ?? 0);
    skipped = Number(/^# skipped (\d+)/m.exec(tap)?.[1] ?? 0);
    if (skipped > 0) {
      const names = [...tap.matchAll(/^\s*ok \d+ - (.*?) # SKIP(.*)$/gm)].map((m) => `  skipped: ${m[1]} (${m[2].trim() || 'no reason given'})`);
      console.log(names.join('\n'));
    }
  } catch { failed = Math.max(failed, 1); }
  if (process.env.CI === 'true' && skipped > 0) {
    console.log(`CI=true: ${skipped} skipped test(s) count as failed`);
    failed += skipped;
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
