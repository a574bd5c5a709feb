// The deployment manifests proven by running them (npm run deploy:run-locally, as CI and an operator run it): the
// compose file and the Kubernetes local overlay each start every target with exactly its environment as local
// processes against a local broker of their own, and the end-to-end check passes (events in, one prediction each
// out). A manifest with an address no workload answers, or a target the CLI does not know, fails the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE = join(ROOT, 'deploy/compose/compose.yaml');

async function runLocally(args: string[]): Promise<{ code: number; output: string }> {
  // Its own broker on a free port: the test runner's KAFKA_BROKERS is not passed on, nor is anything else of ours.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, GOPATH: process.env.GOPATH, GOBIN: process.env.GOBIN };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/deploy/run-locally.ts'), ...args],
      { cwd: ROOT, env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)), timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** A copy of compose.yaml beside it (its mounts are relative to its folder) with one change, removed afterwards. */
async function withMutatedCompose<T>(from: string, to: string, run: (file: string) => Promise<T>): Promise<T> {
  const text = readFileSync(COMPOSE, 'utf8');
  assert.ok(text.includes(from), `compose.yaml no longer contains ${from}`);
  const file = join(ROOT, 'deploy/compose', `.mutated-${process.pid}-${Date.now()}.yaml`);
  writeFileSync(file, text.replace(from, to));
  try {
    return await run(file);
  } finally {
    rmSync(file, { force: true });
  }
}

test('deploy/compose runs: every target from its command and environment, events in, one prediction each out', { timeout: 600_000 }, async () => {
  const { code, output } = await runLocally(['--compose']);
  assert.equal(code, 0, output);
  assert.match(output, /end-to-end ok: 2100 events in, 2100 predictions out, one per event \(read_committed\)/);
  for (const target of ['schema-registry', 'ingestion', 'features', 'inference', 'training', 'monitoring']) assert.match(output, new RegExp(`started ${target}: node bin/streamloop.mjs start --target ${target} `));
});

test('deploy/k8s/overlays/local runs: the rendered Deployments with their ConfigMaps, Secret and Services', { timeout: 600_000 }, async () => {
  const { code, output } = await runLocally(['--k8s', 'local']);
  assert.equal(code, 0, output);
  assert.match(output, /end-to-end ok: 2100 events in, 2100 predictions out, one per event \(read_committed\)/);
  assert.match(output, /ClickHouse stand-in \(embedded chDB over HTTP\) at .* for user\(s\) streamloop/);
});

test('a manifest that does not add up fails the run: an address nobody answers, an unknown target', { timeout: 600_000 }, async () => {
  const address = await withMutatedCompose('SCHEMA_REGISTRY_URL: http://schema-registry:8081', 'SCHEMA_REGISTRY_URL: http://schema-registry:8091', (file) => runLocally(['--compose', file]));
  assert.equal(address.code, 1, address.output);
  assert.match(address.output, /ingestion: SCHEMA_REGISTRY_URL points at schema-registry:8091, which no workload of the manifest answers/);

  const target = await withMutatedCompose('["start", "--target", "inference"]', '["start", "--target", "inferense"]', (file) => runLocally(['--compose', file]));
  assert.equal(target.code, 1, target.output);
  assert.match(target.output, /inference exited with 1 before it was healthy/);
});
