// docs/byod.md, run as a new user would: every `sh` block of the guide, in order, in one bash session, exactly as
// written. Only the ports and the work directory are chosen here (the guide reads them from the environment), so the
// run does not collide with anything else on the machine. The guide must end with exit 0, and along the way show the
// offline checks, accepted orders, a trained model, a prediction and a drift report.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/cli-process';
import { brokersOrSkip } from '../support/stack';

const ROOT = new URL('../..', import.meta.url).pathname;
const skip = !brokersOrSkip() && 'KAFKA_BROKERS is not set (the guide starts its own broker, but needs the jars the test run fetched)';

/** The guide's `sh` blocks, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

test('docs/byod.md runs as written: from an .avsc and a labelled stream to predictions and a drift report', { skip, timeout: 600_000 }, async (t: TestContext) => {
  const blocks = shellBlocks(readFileSync(join(ROOT, 'docs/byod.md'), 'utf8'));
  assert.ok(blocks.length >= 8, `the guide's sh blocks (${blocks.length})`);
  const work = mkdtempSync(join(tmpdir(), 'streamloop-byod-'));
  const ports = { KAFKA_PORT: await freePort(), PORT: await freePort(), SCHEMA_REGISTRY_PORT: await freePort() };
  const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), WORK: work };
  delete env.KAFKA_BROKERS;
  // Each block is announced, so a failure shows which one; `set -e` stops at the first failing command.
  const script = ['set -euo pipefail', ...blocks.map((b, i) => `echo "=== block ${i + 1}"\n${b}`)].join('\n');
  let output = '';
  // Its own process group: whatever the guide left running (the platform in the background) is stopped with it.
  const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const code = await new Promise<number | null>((resolve) => {
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 540_000);
    child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  const log = existsSync(join(work, 'streamloop.log')) ? readFileSync(join(work, 'streamloop.log'), 'utf8') : '';
  try {
    t.diagnostic(output.slice(-6000));
    assert.equal(code, 0, `the guide stopped (exit ${code}); streamloop.log ends:\n${log.slice(-4000)}`);
    assert.match(output, /ok {2}examples\/byod\/orders\.yaml \(pipeline orders: 20 features\)/, 'validate');
    assert.match(output, /amount_per_item\s+double\s+expr\(amount \/ max\(items, 1\)\)/, 'features lists the expressions');
    assert.equal((output.match(/"accepted":250/g) ?? []).length, 12, 'every file of orders accepted');
    assert.match(output, /2000 outcomes sent to orders\.labels/);
    assert.match(output, /returns v\d+ gbdt roc_auc 0\.\d{3}/, 'a trained model with its held-out roc_auc');
    assert.match(output, /^\*\s+returns\s+v\d+\s+champion/m, 'models list marks the serving champion');
    assert.match(output, /"score":0?\.\d+/, 'a prediction over HTTP');
    assert.match(output, /1000 outcomes sent to orders\.labels/);
    assert.match(output, /^amount\s+jensen_shannon\s+\S+\s+drifted$/m, 'the drift report finds the bigger amounts');
    assert.match(output, /^payment=invoice\s+chi_square_p_value\s+\S+\s+drifted$/m, 'and the payment mix');
    assert.match(output, /^live roc_auc 0\.\d{3} on \d+ labelled orders$/m, 'live performance');
    assert.doesNotMatch(output, /^customer_orders_1w /m, 'an excluded feature is not judged');
  } finally {
    // The guide stops what it started; after a failure part way, do it here.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    spawnSync('bash', [join(ROOT, 'deploy/local/kafka.sh'), 'stop', String(ports.KAFKA_PORT)], { env, stdio: 'ignore' });
  }
});
