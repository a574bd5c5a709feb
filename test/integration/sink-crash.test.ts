// The ClickHouse sink killed between its insert and its offset commit, three times, on the real broker: the
// redelivered batches start at the same offsets but end elsewhere (records keep arriving), and the rows must
// still be in ClickHouse exactly once. SINK_CRASH_TOKENS=naive runs the same scenario with today's per-batch
// token (`table:topic-partition-first-last`), which this test is expected to catch duplicating rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeClickHouse, createClickHouse } from '@streamloop/clickhouse';
import { createKafka, fetchTopicEnds } from '@streamloop/kafka';

const brokers = process.env.KAFKA_BROKERS?.split(',');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = join(ROOT, 'test', 'support', 'sink-crash-child.ts');
const DAY = 86_400_000;
const D1 = Date.UTC(2026, 0, 5, 12);

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** The JSON lines the child printed. */
  lines: Array<Record<string, unknown>>;
}

function runChild(env: Record<string, string>, timeoutMs: number): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => void (output += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => void (output += b.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = output.split('\n').flatMap((l) => {
        try {
          return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      });
      resolve({ code, signal, output, lines });
    });
  });
}

test('the sink killed between insert and commit three times leaves no missing and no duplicate row', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 300_000 }, async (t) => {
  const naive = process.env.SINK_CRASH_TOKENS === 'naive';
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const topic = `sink_crash_${suffix}`;
  const pipeline = `crash_${suffix}`;
  const database = `sink_crash_${suffix}`;
  const chdbDir = mkdtempSync(join(tmpdir(), 'streamloop-sink-crash-'));
  const kafka = createKafka({ brokers: brokers!, clientId: `sink-crash-test-${suffix}` });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  // Idempotent: a retried send must not put a record in the topic twice (that would be a duplicate upstream of the sink).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  // Records keep arriving while the sink runs and dies, so a redelivered batch ends later than the one that was
  // killed. Each batch of rows spans three days (three blocks per insert).
  let produced = 0;
  let producing = true;
  const production = (async () => {
    while (producing) {
      const messages = Array.from({ length: 20 }, () => {
        const n = produced++;
        return { key: `k${n}`, value: JSON.stringify({ event_id: `${pipeline}-${n}`, label: n % 2, label_time: D1 + (n % 3) * DAY }) };
      });
      await producer.send({ topic, messages });
      await new Promise((r) => setTimeout(r, 60));
    }
  })();

  const childEnv = {
    KAFKA_BROKERS: brokers!.join(','), SINK_TOPIC: topic, SINK_GROUP: `sink-crash-${suffix}`, SINK_CHDB_DIR: chdbDir,
    SINK_DATABASE: database, SINK_PIPELINE: pipeline, SINK_TOKENS: naive ? 'naive' : 'partition-sink', LOG_LEVEL: 'warn',
  };
  try {
    const killedBatches: Array<Record<string, unknown>> = [];
    const runs: ChildRun[] = [];
    // Different kill points, and different write sizes per run so that a killed write comes back longer or shorter.
    for (const [killAfter, chunk] of [[3, 400], [5, 40], [2, 300]]) {
      const run = await runChild({ ...childEnv, SINK_KILL_AFTER_INSERT: String(killAfter), SINK_CHUNK: String(chunk) }, 120_000);
      runs.push(run);
      assert.equal(run.signal, 'SIGKILL', `the child should have killed itself after insert ${killAfter}:\n${run.output.slice(-4000)}`);
      const batches = run.lines.filter((l) => l.first !== undefined);
      assert.equal(run.lines.filter((l) => l.killed).length, 1, run.output.slice(-4000));
      killedBatches.push(batches[batches.length - 1]);
    }
    producing = false;
    await production;

    const ends = await fetchTopicEnds(admin, topic);
    const total = ends.reduce((n, p) => n + Number(p.high), 0);
    assert.equal(total, produced, 'every produced record is in the topic');
    const final = await runChild({ ...childEnv, SINK_CHUNK: '150', SINK_END_OFFSETS: JSON.stringify(Object.fromEntries(ends.map((p) => [p.partition, p.high]))) }, 120_000);
    runs.push(final);
    assert.equal(final.code, 0, `the last run should consume to the end and exit:\n${final.output.slice(-4000)}`);

    // What was redelivered after each kill: the same first offset, other ends.
    for (const [i, killed] of killedBatches.entries()) {
      // The first later run that wrote to the partition (a run may die before it reaches every partition).
      const next = runs.slice(i + 1).map((run) => run.lines.filter((l) => l.partition === killed.partition && l.first !== undefined)).find((ls) => ls.length > 0) ?? [];
      const upTo = next.findIndex((l) => BigInt(String(l.last)) >= BigInt(String(killed.last)));
      const writes = next.slice(0, upTo < 0 ? 3 : upTo + 1).map((l) =>
        `${l.first}..${l.last}${'replayed' in l ? ` (replayed ${l.replayed}, inserted ${l.inserted}, skipped ${l.skipped}, held ${l.held})` : ''}`);
      t.diagnostic(`kill ${i + 1}: partition ${killed.partition}, write ${killed.first}..${killed.last} not committed; redelivered as: ${writes.join(', ') || 'nothing'}`);
    }

    // The children are gone: this process may open the chDB directory now.
    const clickhouse = await createClickHouse({ dataDir: chdbDir, database });
    try {
      const rs = await clickhouse.query({
        query: 'SELECT count() AS rows, uniqExact(event_id) AS distinct FROM labels WHERE pipeline = {pipeline:String}',
        query_params: { pipeline },
        format: 'JSONEachRow',
      });
      const [stored] = (await rs.json()) as Array<{ rows: number | string; distinct: number | string }>;
      t.diagnostic(`${naive ? 'naive tokens' : 'PartitionSink'}: produced ${produced}, count() ${stored.rows}, uniqExact(event_id) ${stored.distinct}`);
      assert.equal(Number(stored.distinct), produced, 'no missing row');
      assert.equal(Number(stored.rows), produced, 'no duplicate row (count() without FINAL)');
    } finally {
      await closeClickHouse(clickhouse);
    }
  } finally {
    producing = false;
    await production.catch(() => undefined);
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    rmSync(chdbDir, { recursive: true, force: true });
  }
});
