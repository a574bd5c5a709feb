// The Prometheus and Grafana files against live metrics (issue 14 item 4): `streamloop start` with every target and
// the built-in schema registry run a pipeline while a payments app streams card transactions and their late labels;
// the first model is trained by the platform, a broken champion falls back and is demoted, a malformed record is
// dead-lettered, a producer retry is dropped as a duplicate, a late event is dropped, the drift job runs. Prometheus
// (Debian's package) scrapes them with deploy/prometheus/prometheus.yml (its targets pointed at the processes) and
// evaluates deploy/prometheus/rules; then every Grafana panel's PromQL under deploy/grafana/dashboards and every
// recording rule is queried through Prometheus' HTTP API, and the test fails naming each one that returns no series.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort } from '../support/cli-process';
import { generateCardTransactions } from '@streamloop/testing';
import { CardProducer, startLoopPlatform, type LoopPlatform } from '../support/loop';
import { outOfRangeRecord, publishModel, trainTestModel } from '../support/models';
import { brokersOrSkip, eventually } from '../support/stack';

const brokers = brokersOrSkip();
const ROOT = new URL('../../', import.meta.url).pathname;
const PROMETHEUS_DIR = join(ROOT, 'deploy/prometheus');
const DASHBOARDS_DIR = join(ROOT, 'deploy/grafana/dashboards');
const hasPrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
// Under CI a missing prometheus is a failure (.ci/run installs it), elsewhere a skip.
const skip = !brokers ? 'KAFKA_BROKERS is not set' : !hasPrometheus && process.env.CI !== 'true' ? 'prometheus is not installed (Debian: apt-get install prometheus)' : false;
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
const MAX_MODEL_FAILURES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunningPrometheus { url: string; output(): string; stop(): Promise<void> }

/**
 * Prometheus with the repository's prometheus.yml, changed only where a test must: scrape and evaluate every second,
 * the rule files by absolute path, and its file_sd target files in a temporary folder naming the test's processes.
 */
async function startPrometheus(targets: Record<string, string[]>): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-prometheus-'));
  const config = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>; rule_files: string[]; scrape_configs: Array<{ job_name: string; file_sd_configs: Array<{ files: string[]; refresh_interval?: string }> }>;
  };
  config.global = { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' };
  config.rule_files = config.rule_files.map((f) => join(PROMETHEUS_DIR, f));
  mkdirSync(join(dir, 'targets'));
  for (const job of config.scrape_configs) {
    for (const sd of job.file_sd_configs) {
      for (const file of sd.files) writeFileSync(join(dir, file), stringifyYaml(targets[job.job_name] ? [{ targets: targets[job.job_name] }] : []));
    }
  }
  writeFileSync(join(dir, 'prometheus.yml'), stringifyYaml(config));
  const port = await freePort();
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (b: Buffer) => { output = (output + b.toString()).slice(-20_000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}\n${output}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined;
    }, `prometheus ready at ${url}\n${output}`, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => output, stop };
}

/** How many series an instant query returns (through Prometheus' HTTP API); the query's error when it fails. */
async function seriesCount(prometheus: string, query: string): Promise<number> {
  const res = await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown[] } };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  return body.data!.result.length;
}

interface Query { where: string; expr: string }

/** Every panel query of every dashboard, with Grafana's variables as a user picking this pipeline would have them. */
function dashboardQueries(pipeline: string): Query[] {
  const out: Query[] = [];
  for (const file of readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as { title: string; panels: Array<{ type: string; title: string; targets?: Array<{ refId: string; expr: string }> }> };
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        const expr = target.expr
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$pipeline', pipeline)
          .replaceAll('$job', '.+');
        const where = `${dashboard.title} / "${panel.title}" (${target.refId})`;
        out.push({ where, expr });
        // A panel that shows a zero when its series is absent: the real series must exist too, as the test caused it.
        const withoutZero = expr.replace(/\s+or on\(\) vector\(0\)\s*$/, '');
        if (withoutZero !== expr) out.push({ where: `${where} without its "or vector(0)"`, expr: withoutZero });
      }
    }
  }
  return out;
}

function recordingRules(): Query[] {
  return readdirSync(join(PROMETHEUS_DIR, 'rules')).filter((f) => f.endsWith('.yml')).flatMap((f) => {
    const { groups } = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'rules', f), 'utf8')) as { groups: Array<{ rules: Array<{ record?: string }> }> };
    return groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [{ where: `recording rule ${r.record}`, expr: r.record }] : [])));
  });
}

/** The value of a sample line of a /metrics exposition, NaN when absent. */
function sample(metrics: string, name: string, ...labels: string[]): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

test('Prometheus scrapes a running stack with deploy/prometheus; every dashboard panel and recording rule returns series', { skip, timeout: 900_000 }, async (t: TestContext) => {
  const loop: LoopPlatform = await startLoopPlatform(brokers!, 'prom', {
    training: { min_labels: 300 },
    // A 6 h drift window, so the window before it (score and label drift) holds served predictions too; feature drift
    // against the model's stored training sample (the first model's data ends before the aggregates' 24 h warm-up).
    monitoring: { window: '6h', reference: 'training', detectors: { label_delay: '3h' } },
    features: { allowed_lateness: '1h', late_events: 'drop' },
    serving: { max_model_failures: MAX_MODEL_FAILURES },
  });
  let prometheus: RunningPrometheus | undefined;
  const ctx = loop.stack.runtime.pipelines.pipeline(loop.name);
  const hostOf = (url: string) => new URL(url).host;
  const producer = loop.stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    prometheus = await startPrometheus({ streamloop: [hostOf(loop.api)], 'schema-registry': [hostOf(loop.stack.registryUrl)] });
    const why = () => `${loop.why()}\n--- prometheus\n${prometheus?.output().slice(-3000)}`;
    await eventually(async () => ((await seriesCount(prometheus!.url, 'up == 1')) === 2 ? true : undefined), `both targets up in Prometheus\n${why()}`, 60_000);

    // --- The payments app: events every 90 s of event time, labels 100 events (2.5 h) behind; the platform trains the
    // first model.
    // 40 cards: most events have their card's history (a new card's aggregates are missing values, which the
    // data-quality gate bounds).
    const items = generateCardTransactions({ seed: 31, events: 1400, cards: 40, meanGapMs: 90_000, idPrefix: loop.name });
    const app = new CardProducer(loop, 100);
    for (let i = 0; i < 800; i += 100) await app.send(items.slice(i, i + 100));
    // Every label so far (a loaded machine's sink may lag): the first model needs 300 labelled feature vectors.
    await app.flush();
    const first = await eventually(async () => (await loop.models()).find((m) => m.serving), `the first model, trained by the platform\n${why()}`, 360_000);
    t.diagnostic(`first model: ${first.model_name} v${first.model_version}`);
    for (let i = 800; i < 1000; i += 100) {
      await app.send(items.slice(i, i + 100));
      await sleep(300);
    }

    // --- A champion that scores outside [0, 1]: its rows fall back to the first model, then it is demoted by policy.
    await publishModel(loop.stack, loop.name, outOfRangeRecord(loop.name, 'broken', 1, trainTestModel(FEATURES, 11)));
    await eventually(async () => ((await loop.models()).find((m) => m.model_name === 'broken')?.serving ? true : undefined), `the broken model serving\n${why()}`, 60_000);
    for (let i = 1000; i < 1400; i += 50) {
      await app.send(items.slice(i, i + 50));
      await sleep(300);
    }
    await app.flush();
    await eventually(async () => ((await loop.models()).find((m) => m.model_name === 'broken')?.stage === 'rejected' ? true : undefined), `the broken model demoted\n${why()}`, 60_000);

    // --- A malformed record (dead-lettered by ingestion), a producer retry (dropped as a duplicate), a late event.
    const encode = (e: (typeof items)[number]['event']) => loop.stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e);
    const last = items[items.length - 1].event;
    const late = { ...last, transaction_id: `${loop.name}-late`, event_time: last.event_time - 3 * 3_600_000 };
    await producer.send({ topic: ctx.topics.raw, acks: -1, messages: [
      { key: 'malformed', value: Buffer.from('not an Avro record') },
      { key: items[1200].event.card_id, value: await encode(items[1200].event) },
      { key: late.card_id, value: await encode(late) },
    ] });

    // --- What the platform counted, as its own /metrics says (the drift job runs every 5 s).
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${loop.api}/metrics`)).text();
      const p = `pipeline="${loop.name}"`;
      const wanted = [
        sample(text, 'streamloop_dead_letters_total', p, 'stage="ingestion"'),
        sample(text, 'streamloop_duplicate_events_total', p),
        sample(text, 'streamloop_late_events_total', p),
        sample(text, 'streamloop_model_fallbacks_total', p),
        sample(text, 'streamloop_model_demotions_total', p),
        sample(text, 'streamloop_model_performance', p, 'role="champion"', 'metric="roc_auc"'),
        sample(text, 'streamloop_model_error_ratio', p, 'role="champion"'),
        sample(text, 'streamloop_drift_score', p, 'feature="__score__"', 'statistic="psi"'),
        sample(text, 'streamloop_drift_score', p, 'feature="__label__"', 'statistic="psi"'),
        sample(text, 'streamloop_label_delay_seconds', p),
      ];
      return wanted.every((v) => Number.isFinite(v)) ? text : undefined;
    }, `dead letter, duplicate, late event, fallback, demotion, live performance, error stream, score and label drift, label delay in /metrics\n${why()}`, 180_000);
    t.diagnostic(`fallbacks: ${sample(metrics, 'streamloop_model_fallbacks_total', `pipeline="${loop.name}"`)}`);

    // --- Every panel and recording rule through Prometheus' HTTP API, until each returns series (scrapes and rule
    // evaluations take a few seconds to catch up), or the test fails naming those that return none.
    const queries = [...dashboardQueries(loop.name), ...recordingRules()];
    assert.ok(queries.length >= 50, `${queries.length} queries`);
    let empty: Query[] = queries;
    const deadline = Date.now() + 90_000;
    while (empty.length > 0 && Date.now() < deadline) {
      const counts = await Promise.all(empty.map(async (q) => ({ q, n: await seriesCount(prometheus!.url, q.expr) })));
      empty = counts.filter((c) => c.n === 0).map((c) => c.q);
      if (empty.length > 0) await sleep(2000);
    }
    t.diagnostic(`${queries.length - empty.length} of ${queries.length} panel queries and recording rules return series`);
    assert.deepEqual(empty.map((q) => `${q.where}: ${q.expr}`), [], 'panels and recording rules without a series');
  } finally {
    await producer.disconnect().catch(() => undefined);
    await prometheus?.stop();
    await loop.close();
  }
});
