// The drift and performance report on a real stack: card transactions' feature vectors and late labels through Kafka
// into monitoring's ClickHouse sink, a model trained by the training target on the first part, inference scoring every
// event, the world changed in the last part (larger amounts, online), a drift run; then GET /v1/pipelines/:p/report and
// `streamloop report` produce one HTML file whose embedded data has the real features, PSI values and performance
// windows, and which headless Chromium renders offline: every chart drawn with data, no console error, nothing fetched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { countRows } from '@streamloop/clickhouse';
import { FeatureComputer } from '@streamloop/features';
import { InferenceModule } from '@streamloop/inference';
import { MonitoringModule, MonitoringService } from '@streamloop/monitoring';
import type { ReportData } from '@streamloop/report';
import type { FeatureVectorRecord, LabelRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { freePort, runCli } from '../support/cli-process';
import { assertErrorBody, request } from '../support/http-errors';
import { brokersOrSkip, eventually, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const CHROMIUM = '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
const ARTIFACTS = resolve(ROOT, process.env.STREAMLOOP_ARTIFACTS_DIR ?? 'test-artifacts');

function embeddedData(html: string): ReportData {
  const m = html.match(/<script type="application\/json" id="streamloop-report-data">([\s\S]*?)<\/script>/);
  assert.ok(m, 'the page embeds its data');
  return JSON.parse(m[1]) as ReportData;
}

test('the report endpoint and streamloop report write one self-contained page that Chromium renders offline', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 420_000 }, async () => {
  const name = uniqueName('report');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
    s.monitoring.window = '1h';
    s.monitoring.windowMs = 3_600_000;
    // The stored training sample (the default waits out the 24 h aggregates' warm-up, longer than this stream).
    s.monitoring.reference = { source: 'training' };
  });
  const stack = await startStack(brokers!, [spec], [TrainingModule, InferenceModule, MonitoringModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const types = stack.runtime.types;
    const base = `${stack.serving.url}/v1/pipelines/${name}`;
    // About 2.5 hours of transactions; from event 1000 on the world changes (amounts ×3, mostly online).
    const total = 1500, changeAt = 1000;
    const stream = generateCardTransactions({ seed: 11, events: total, idPrefix: name, meanGapMs: 6000, compromiseRate: 0.03, drift: { fromIndex: changeAt, amountFactor: 3, onlineShare: 0.8 } });
    const computer = new FeatureComputer(spec);
    const vectors: FeatureVectorRecord[] = stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { event_id: event.transaction_id, pipeline: name, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: spec.features.version, values: f.values, computed_at: Date.now() };
    });
    const labels: LabelRecord[] = stream.map(({ event, label }) => ({ event_id: event.transaction_id, label, label_time: event.event_time + 30_000 }));
    const send = async (from: number, to: number) => {
      await producer.send({ topic: ctx.topics.features, messages: await Promise.all(vectors.slice(from, to).map(async (v) => ({ key: v.entity_key, value: await stack.serde.encode(`${ctx.topics.features}-value`, types.featureVector, v) }))) });
      await producer.send({ topic: ctx.topics.labels, messages: await Promise.all(labels.slice(from, to).map(async (l) => ({ key: l.event_id, value: await stack.serde.encode(`${ctx.topics.labels}-value`, types.label, l) }))) });
    };
    const ch = await stack.runtime.clickhouseConnection.client();

    // The first part, sunk by monitoring; the training target trains v1 on it (the reference of the report).
    await send(0, changeAt);
    await eventually(async () => ((await countRows(ch, 'features', name)) >= changeAt && (await countRows(ch, 'labels', name)) >= changeAt ? true : undefined), 'the first part in ClickHouse', 90_000);
    const trained = await fetch(`${base}/train`, { method: 'POST' });
    assert.equal(trained.status, 201, await trained.clone().text());
    // The changed part; inference scores every event with v1 (the first part too, once v1 serves).
    await send(changeAt, total);
    await eventually(async () => ((await countRows(ch, 'predictions', name)) >= total && (await countRows(ch, 'labels', name)) >= total ? true : undefined), 'every prediction and label in ClickHouse', 180_000);
    const monitoring = stack.serving.app.get(MonitoringService);
    const drift = await eventually(() => monitoring.driftJob(name), 'a drift run on the champion');
    assert.equal(drift.model_version, 1);

    // --- JSON: the report's data.
    const json = await request(`${base}/report?format=json`);
    assert.equal(json.status, 200, json.text.slice(0, 300));
    assert.match(json.contentType, /^application\/json/);
    const data = JSON.parse(json.text) as ReportData;
    assert.equal(data.model?.model_version, 1);
    assert.deepEqual(data.period.to, drift.window_end, 'the default period is the drift job\'s window');
    assert.deepEqual(data.features.map((f) => f.feature).sort(), drift.features.map((f) => f.feature).sort(), 'the features the drift job judged');
    for (const f of data.features) {
      const judged = drift.features.find((d) => d.feature === f.feature)!;
      assert.ok(typeof f.psi === 'number' && Math.abs(f.psi - judged.psi) < 1e-9, `${f.feature}: PSI ${f.psi} as the drift run's ${judged.psi}`);
      assert.equal(f.drifted, judged.drifted, `${f.feature}: the drift run's verdict`);
      assert.ok(f.bins.length >= 2 && f.bins.every((b) => b.reference >= 0 && b.current >= 0), `${f.feature}: both distributions`);
    }
    const amount = data.features.find((f) => f.feature === 'log_amount' || f.feature === 'amount');
    assert.ok(amount && amount.psi! > 0.2, `the tripled amounts drifted: ${JSON.stringify(amount?.psi)}`);
    assert.ok(data.dataset !== null);
    assert.ok(data.score !== null && data.label !== null, 'score and label drift against the hour before');
    const labelledWindows = data.performance.windows.filter((w) => w.labelled > 0);
    assert.ok(labelledWindows.length >= 6, `${labelledWindows.length} labelled performance windows`);
    assert.ok(labelledWindows.every((w) => w.model_name === data.model!.model_name && w.model_version === 1));
    // The drift job also runs on its schedule (every 2 s here): the latest run of the same window.
    assert.equal(data.data_quality.monitoring?.window_end, drift.window_end, 'the latest data-quality run of the drift job\'s window');
    assert.equal(data.data_quality.monitoring?.checks.length, drift.data_quality?.checks);
    assert.ok(data.data_quality.training !== null, 'the training gate');

    // --- HTML from the endpoint, and from the CLI into a file.
    const html = await request(`${base}/report`);
    assert.equal(html.status, 200);
    assert.match(html.contentType, /^text\/html; charset=utf-8/);
    const fromEndpoint = embeddedData(html.text);
    assert.deepEqual(fromEndpoint.features.map((f) => [f.feature, f.psi]), data.features.map((f) => [f.feature, f.psi]));
    const res = await fetch(`${base}/report`);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    await res.arrayBuffer();
    const out = join(mkdtempSync(join(tmpdir(), 'streamloop-report-')), 'report.html');
    const cli = await runCli(['report', '--pipeline', name, '--out', out, '--url', stack.serving.url]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /written to /);
    const file = readFileSync(out, 'utf8');
    const fromCli = embeddedData(file);
    assert.deepEqual(fromCli.features.map((f) => [f.feature, f.psi, f.bins]), data.features.map((f) => [f.feature, f.psi, f.bins]));
    assert.deepEqual(fromCli.performance.windows.map((w) => [w.window_start, w.labelled]), data.performance.windows.map((w) => [w.window_start, w.labelled]));

    // --- Chromium: the file offline, then the page as the endpoint serves it (under its Content-Security-Policy).
    // Every chart drawn with data, no console error, no request but the page itself.
    const expected = [...data.features.map((_, i) => `chart-feature-${i}`), 'chart-score', 'chart-label', 'chart-performance', 'chart-labelled', ...(data.detections.length ? ['chart-detections'] : [])];
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const open = async (address: string, offline: boolean) => {
        const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
        const requested: string[] = [];
        // Every request is refused, but the page's own address (the navigation itself).
        await context.route('**/*', (route) => {
          const url = route.request().url();
          if (url === address) return route.continue();
          requested.push(url);
          return route.abort();
        });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`request ${r.url()}`));
        if (offline) await context.setOffline(true);
        await page.goto(address, { waitUntil: 'load' });
        const charts = await page.evaluate(() => {
          // The page's globals, typed here (the workspace compiles without the DOM library).
          type Canvas = { id: string; width: number };
          const g = globalThis as unknown as { Chart: { getChart(c: Canvas): { data: { datasets: Array<{ data: unknown[] }> } } | undefined }; document: { querySelectorAll(s: string): ArrayLike<Canvas> } };
          return Array.from(g.document.querySelectorAll('canvas')).map((c) => {
            const chart = g.Chart.getChart(c);
            return { id: c.id, drawn: chart !== undefined, points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0, width: c.width };
          });
        });
        assert.deepEqual(charts.map((c) => c.id), expected, `${address}: a canvas for every chart`);
        for (const c of charts) assert.ok(c.drawn && c.points > 0 && c.width > 0, `${address}: ${c.id} drawn with data: ${JSON.stringify(c)}`);
        assert.deepEqual(problems, [], `${address}: no console error, no failed request`);
        assert.deepEqual(requested, [], `${address}: nothing asked of the network or the disk`);
        return { page, context };
      };
      const offline = await open(pathToFileURL(out).href, true);
      mkdirSync(ARTIFACTS, { recursive: true });
      await offline.page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      await offline.context.close();
      await (await open(`${base}/report`, false)).context.close();
    } finally {
      await browser.close();
    }

    // --- Errors: a bad date names its parameter, an unknown pipeline is 404, an unreachable target exits 1.
    const badFrom = assertErrorBody(await request(`${base}/report?from=yesterday`), 400, 'INVALID_INPUT');
    assert.match(badFrom.message, /^from: expected an ISO 8601 time/);
    assertErrorBody(await request(`${base}/report?to=2026-11-03T10:00:00`), 400, 'INVALID_INPUT');
    assertErrorBody(await request(`${stack.serving.url}/v1/pipelines/${name}_nope/report`), 404, 'PIPELINE_NOT_FOUND');
    const cliBad = await runCli(['report', '--pipeline', `${name}_nope`, '--out', out, '--url', stack.serving.url]);
    assert.equal(cliBad.code, 1);
    assert.match(cliBad.stderr, /HTTP 404 PIPELINE_NOT_FOUND/);
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await runCli(['report', '--pipeline', name, '--out', out, '--url', nowhere]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`report: cannot reach the monitoring target at ${nowhere.replace(/\./g, '\\.')}: ECONNREFUSED`));
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});
