// The web console in a real browser (Debian's chromium, driven by playwright-core) against a real stack in one
// process: the broker, the schema registry, embedded ClickHouse, and ingestion, features, inference, training and
// monitoring. Two versions are trained by the training target (with a small hyperparameter search, so there are
// trials), card transactions and their labels stream through the pipeline, one malformed record is dead-lettered.
// Every page must load without a console error, every chart must hold the data the platform computed, live
// predictions must appear while events are sent, and Promote / Roll back clicked in the page must change the model
// that serves (read back from the API and the prediction topic). Auth is on: the page (public) asks for a token on
// its first 401 and sends it with every call, the live stream's included. Screenshots of each page go to
// $STREAMLOOP_ARTIFACTS_DIR (default test-artifacts/), as console-<page>.png.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { insertRows, TABLES } from '@streamloop/clickhouse';
import { FeatureComputer } from '@streamloop/features';
import { FeaturesModule } from '@streamloop/features-service';
import { InferenceModule } from '@streamloop/inference';
import { IngestionModule } from '@streamloop/ingestion';
import { MonitoringModule } from '@streamloop/monitoring';
import type { LabelRecord, PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions, type LabelledTransaction } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { bearer, testTokens } from '../support/auth';
import { assertErrorBody, request } from '../support/http-errors';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const CHROMIUM = '/usr/bin/chromium';
const skip = !brokers ? 'KAFKA_BROKERS is not set' : !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (Debian package chromium; .ci/run installs it)` : false;
const ARTIFACTS = process.env.STREAMLOOP_ARTIFACTS_DIR ?? 'test-artifacts';
/** A DLQ payload that would run if the page ever put data into HTML. */
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> not a wire-format record';

interface ChartSeries {
  label: string;
  data: Array<number | { x: number; y: number } | null>;
}

test('the web console: every page loads, charts hold the platform\'s data, live predictions stream, promote and rollback from the page change the serving model', { skip, timeout: 600_000 }, async (t: TestContext) => {
  const name = uniqueName('console');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
    s.model.search = { strategy: 'random', trials: 3, cv: { kind: 'time_series', folds: 2 }, metric: 'roc_auc', seed: 3, space: { l2: { type: 'log_uniform', low: 0.1, high: 10 } } };
    s.monitoring.window = '1h';
    s.monitoring.windowMs = 3_600_000;
  });
  // Auth on, as in production: the page asks for a token on its first 401 and sends it with every call.
  const tokens = testTokens();
  const admin = bearer(tokens.token.admin);
  const stack = await startStack(brokers!, [spec], [IngestionModule, FeaturesModule, InferenceModule, TrainingModule, MonitoringModule], {
    authEnv: { STREAMLOOP_TOKENS: tokens.entries, STREAMLOOP_TOKEN: tokens.token.admin },
  });
  const ctx = stack.runtime.pipelines.pipeline(name);
  const base = `${stack.serving.url}/v1/pipelines/${name}`;
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  let browser: Browser | undefined;
  try {
    // --- History: feature vectors and labels as monitoring would have sunk them; two versions trained on them.
    const computer = new FeatureComputer(spec);
    // Spread over three and a half days: the champion's data must reach past the features' 24 h warm-up to be a drift reference.
    const history = generateCardTransactions({ seed: 5, events: 1500, idPrefix: `${name}-h`, compromiseRate: 0.03, meanGapMs: 200_000 });
    const ch = await stack.runtime.clickhouseConnection.client();
    await insertRows(ch, TABLES.features, history.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    }));
    await insertRows(ch, TABLES.labels, history.map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));
    for (const version of [1, 2]) {
      const res = await fetch(`${base}/train`, { method: 'POST', headers: admin });
      assert.equal(res.status, 201, await res.clone().text());
      assert.equal(((await res.json()) as { model_version: number }).model_version, version);
    }
    await eventually(async () => ((await servedVersion(base, admin)) === 1 ? true : undefined), 'inference serving v1');

    // --- Live: card transactions of the day after through the pipeline, their labels, and one malformed record.
    const live = generateCardTransactions({ seed: 6, events: 420, idPrefix: `${name}-l`, compromiseRate: 0.08, startTime: Date.UTC(2026, 10, 5, 8) });
    const send = async (items: LabelledTransaction[], withLabels: boolean) => {
      const events = await Promise.all(items.map(async ({ event }) => ({ key: event.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, event) })));
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages: events });
      if (!withLabels) return;
      const labels = await Promise.all(items.map(async ({ event, label }) => {
        const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 3_600_000 };
        return { key: event.transaction_id, value: await stack.serde.encode(`${ctx.topics.labels}-value`, stack.runtime.types.label, record) };
      }));
      await producer.send({ topic: ctx.topics.labels, acks: -1, messages: labels });
    };
    await send(live.slice(0, 360), true);
    await producer.send({ topic: ctx.topics.raw, acks: -1, messages: [{ key: 'card-hostile', value: Buffer.from(HOSTILE) }] });
    const predictedIds = async () => new Set((await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value.event_id));
    await eventually(async () => ((await predictedIds()).size >= 360 ? true : undefined), 'a prediction for each of the first 360 live events', 120_000);
    // Drift and live performance of v1, computed by the monitoring target's scheduled drift job.
    await eventually(async () => {
      const res = await fetch(`${stack.serving.url}/v1/console/pipelines/${name}/performance`, { headers: admin });
      const { points } = (await res.json()) as { points: Array<{ model_version: number; metric: string }> };
      return points.some((p) => p.model_version === 1 && p.metric === 'roc_auc') ? true : undefined;
    }, 'live ROC AUC of v1 in performance_metrics', 120_000);

    // --- The browser.
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    // 401s are expected where the page has no token yet: counted apart (the browser logs each as a console error).
    const unauthorized: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of 401/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() === 401) unauthorized.push(new URL(response.url()).pathname);
      else if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // The live stream is aborted by the page when it leaves the live view: that is no failure.
      if (!request.url().includes('/predictions/stream')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    const shoot = (what: string) => page.screenshot({ path: join(ARTIFACTS, `console-${what}.png`), fullPage: true });
    const chart = (id: string) => page.evaluate(`(() => { const c = window.Chart.getChart(document.getElementById(${JSON.stringify(id)})); `
      + 'return c ? c.data.datasets.map((d) => ({ label: d.label, data: d.data })) : null; })()') as Promise<ChartSeries[] | null>;
    const open = async (view: string) => {
      await page.evaluate(`(() => { document.getElementById('page').dataset.state = 'navigating'; location.hash = ${JSON.stringify(view)}; })()`);
      await page.waitForSelector(`main[data-page="${view}"][data-state="ready"]`, { timeout: 30_000 });
    };
    // Polled with evaluate: waitForFunction compiles its predicate in the page, which the console's CSP (rightly) forbids.
    const inPage = (expression: string, what: string, timeoutMs: number) => eventually(async () => ((await page.evaluate(expression)) === true ? true : undefined), what, timeoutMs);
    const errorsShown = () => page.locator('main .error').allTextContents();

    // The page itself is public; its first API call is refused, and the token asked for is kept for the tab.
    await page.goto(`${stack.serving.url}/console/?pipeline=${encodeURIComponent(name)}#pipelines`);
    await page.locator('#token-dialog[open]').waitFor({ timeout: 30_000 });
    await page.locator('#token-input').fill(tokens.token.admin);
    await page.locator('#token-ok').click();
    await page.waitForSelector('main[data-page="pipelines"][data-state="ready"]', { timeout: 30_000 });
    assert.deepEqual(unauthorized, ['/v1/console/pipelines'], 'one refused call before the token');
    assert.equal(await page.locator('#pipeline').inputValue(), name);

    // Pipelines: the topics with their sizes, each stage's lag; the bar chart is the lag table.
    assert.deepEqual(await errorsShown(), []);
    const topicRows = await page.locator('#topics tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { role: string } }).dataset.role));
    for (const role of ['raw', 'events', 'features', 'predictions', 'labels', 'dlq']) assert.ok(topicRows.includes(role), `topic ${role} listed: ${topicRows.join(', ')}`);
    const rawRecords = Number(await page.locator('#topics tr[data-role="raw"] td.num').nth(1).textContent());
    assert.ok(rawRecords >= 361, `raw topic holds the 360 events and the malformed record: ${rawRecords}`);
    const stages = await page.locator('#lag tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { stage: string; role: string } }).dataset).map((d) => `${d.stage}<-${d.role}`));
    for (const s of ['ingestion<-raw', 'features<-events', 'inference<-features', 'monitoring<-predictions']) assert.ok(stages.includes(s), `lag of ${s} shown: ${stages.join(', ')}`);
    const lagChart = await chart('lag-chart');
    assert.ok(lagChart, 'the lag chart is drawn');
    const lagCells = await page.locator('#lag tbody tr td:nth-child(4)').allTextContents();
    assert.deepEqual(lagChart[0]!.data, lagCells.map(Number), 'the chart is the table: one bar per stage and topic');
    await shoot('pipelines');

    // Drift & performance: the charts are the series in ClickHouse.
    await open('drift');
    assert.deepEqual(await errorsShown(), []);
    const driftApi = (await (await fetch(`${stack.serving.url}/v1/console/pipelines/${name}/drift`, { headers: admin })).json()) as { points: Array<{ feature: string; statistic: string; value: number | null }> };
    const psi = driftApi.points.filter((p) => p.statistic === 'psi' && p.value !== null);
    assert.ok(psi.length > 0, 'PSI computed by the drift job');
    const driftChart = await chart('drift-chart');
    assert.ok(driftChart, 'the drift chart is drawn');
    assert.deepEqual(driftChart.map((s) => s.label).sort(), [...new Set(psi.map((p) => p.feature))].sort(), 'one line per feature');
    const charted = driftChart.flatMap((s) => s.data.map((d) => (d as { y: number }).y));
    assert.equal(charted.length, psi.length);
    assert.ok(charted.every(Number.isFinite));
    assert.deepEqual(charted.slice().sort(), psi.map((p) => p.value).sort(), 'every PSI value of ClickHouse, and only those');
    const perfChart = await chart('performance-chart');
    assert.ok(perfChart, 'the performance chart is drawn');
    const v1Auc = perfChart.find((s) => s.label === 'fraud-lr v1 (champion)');
    assert.ok(v1Auc && v1Auc.data.length > 0, `v1's live ROC AUC charted: ${perfChart.map((s) => s.label).join(', ')}`);
    for (const d of v1Auc.data) assert.ok((d as { y: number }).y > 0 && (d as { y: number }).y <= 1);
    await shoot('drift');

    // Experiments: both training runs, the search's trials, the chart of their scores.
    await open('experiments');
    assert.deepEqual(await errorsShown(), []);
    assert.equal(await page.locator('#runs tbody tr').count(), 2, 'two published runs');
    assert.equal(await page.locator('#trials tbody tr').count(), 6, 'three trials per run');
    const trialsChart = await chart('trials-chart');
    assert.ok(trialsChart && trialsChart[0]!.data.length === 6 && trialsChart[0]!.data.every((v) => typeof v === 'number' && v > 0.5 && v <= 1), JSON.stringify(trialsChart));
    await shoot('experiments');

    // Dead letters: the malformed record with its reason and source, its bytes shown as text, nothing run.
    await open('dlq');
    assert.deepEqual(await errorsShown(), []);
    const dlqRow = page.locator('#dlq tbody tr').filter({ hasText: 'ingestion' }).first();
    await dlqRow.waitFor();
    const dlqText = await dlqRow.textContent();
    assert.match(dlqText ?? '', new RegExp(`${ctx.topics.raw.replace(/\./g, '\\.')} p\\d @\\d+`), 'the source topic, partition and offset');
    assert.equal(await dlqRow.locator('pre.text').first().textContent(), HOSTILE, 'the original payload, as text');
    assert.match(await dlqRow.locator('pre.hex').first().textContent() ?? '', /^3c 69 6d 67 /);
    assert.equal(await page.evaluate('window.__pwned === undefined && document.querySelectorAll("main img, main script").length === 0'), true, 'the payload was never HTML');
    await shoot('dlq');

    // Models: v1 serves, v2 was rejected offline; its card link and the stage history are there.
    await open('models');
    assert.deepEqual(await errorsShown(), []);
    assert.equal(await page.locator('#models tr.serving').getAttribute('data-version'), '1');
    assert.equal(await page.locator('#models tr[data-version="2"]').getAttribute('data-stage'), 'rejected');
    await page.locator('#models button[data-action="card"][data-version="1"]').click();
    await inPage(`document.getElementById('card-text').textContent.startsWith('# Model card: fraud-lr v1')`, 'the card of v1 in its dialog', 30_000);
    assert.match(await page.locator('#card-text').textContent() ?? '', /\n## Promotion history\n/);
    await page.locator('#card-close').click();
    const historyRows = await page.locator('#history tbody tr').allTextContents();
    assert.ok(historyRows.length >= 2, `the registry's records in model_events: ${historyRows.join(' | ')}`);
    await shoot('models');

    // Promote v2 in the page (the prompt asks for a reason): the registry, then inference, follow.
    page.once('dialog', (dialog) => void dialog.accept('promoted in the console test'));
    await page.evaluate(`document.getElementById('page').dataset.state = 'acting'`);
    await page.locator('#models button[data-action="promote"][data-version="2"]').click();
    await page.waitForSelector('main[data-page="models"][data-state="ready"]');
    assert.match(await page.locator('#status').textContent() ?? '', /fraud-lr v2: rejected → champion; serving: fraud-lr v2/);
    assert.equal(await page.locator('#models tr.serving').getAttribute('data-version'), '2');
    await eventually(async () => ((await servedVersion(base, admin)) === 2 ? true : undefined), 'inference serving v2 after the click', 30_000);
    const v2Record = (await (await fetch(`${base}/models/2`, { headers: admin })).json()) as { stage: string; decided_by: string; decision_reason: string };
    assert.deepEqual([v2Record.stage, v2Record.decided_by, v2Record.decision_reason], ['champion', 'api', 'promoted in the console test']);

    // Live predictions: the page follows the prediction topic; the events sent now appear, scored by v2.
    await open('live');
    await inPage(`document.getElementById('live-state').textContent.startsWith('following ')`, 'the live view following the prediction topic', 30_000);
    const streamed = live.slice(360, 400);
    await send(streamed, false);
    const wanted = new Set(streamed.map((x) => x.event.transaction_id));
    await inPage(`document.querySelectorAll('#live-rows tr').length >= ${streamed.length}`, `${streamed.length} live predictions in the page`, 60_000);
    const rows = await page.locator('#live-rows tr').evaluateAll((trs) => trs.map((tr) => [(tr as unknown as { dataset: { eventId: string } }).dataset.eventId, (tr as unknown as { children: Array<{ textContent: string }> }).children[3]!.textContent]));
    const shown = rows.filter(([id]) => wanted.has(id!));
    assert.equal(new Set(shown.map(([id]) => id)).size, streamed.length, 'every event sent while the page was open appears');
    assert.deepEqual([...new Set(shown.map(([, model]) => model))], ['fraud-lr v2'], 'scored by the promoted version');
    assert.equal(Number(await page.locator('#live-count').textContent()), rows.length);
    const onTopic = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value).filter((p) => wanted.has(p.event_id));
    assert.deepEqual([...new Set(onTopic.map((p) => p.model_version))], [2], 'the prediction topic agrees');
    await shoot('live');

    // Roll back from the page: v2 is rejected, v1 serves again.
    await open('models');
    page.once('dialog', (dialog) => void dialog.accept('rolled back in the console test'));
    await page.evaluate(`document.getElementById('page').dataset.state = 'acting'`);
    await page.locator('button[data-action="rollback"]').click();
    await page.waitForSelector('main[data-page="models"][data-state="ready"]');
    assert.match(await page.locator('#status').textContent() ?? '', /fraud-lr v2: champion → rejected; serving: fraud-lr v1/);
    await eventually(async () => ((await servedVersion(base, admin)) === 1 ? true : undefined), 'inference serving v1 after the rollback click', 30_000);
    await send(live.slice(400, 420), false);
    const after = new Set(live.slice(400, 420).map((x) => x.event.transaction_id));
    const afterRollback = await eventually(async () => {
      const got = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value).filter((p) => after.has(p.event_id));
      return got.length >= after.size ? got : undefined;
    }, 'predictions of the events sent after the rollback');
    assert.deepEqual([...new Set(afterRollback.map((p) => p.model_version))], [1]);
    await shoot('models-after-rollback');

    // The console's endpoints refuse what they do not serve, with the platform's error body.
    assertErrorBody(await request(`${stack.serving.url}/v1/console/pipelines/nope/lag`, { headers: admin }), 404, 'PIPELINE_NOT_FOUND');
    assertErrorBody(await request(`${stack.serving.url}/v1/console/pipelines/${name}/dlq?limit=0`, { headers: admin }), 400, 'INVALID_INPUT');
    assertErrorBody(await request(`${stack.serving.url}/v1/console/pipelines/${name}/drift?since=yesterday`, { headers: admin }), 400, 'INVALID_INPUT');
    assertErrorBody(await request(`${stack.serving.url}/console/package.json`), 404, 'NOT_FOUND');
    const index = await request(`${stack.serving.url}/console/`);
    assert.match(index.contentType, /^text\/html/);
    t.diagnostic(`screenshots in ${ARTIFACTS}/console-*.png`);
    assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');

    // A token that is not (or no longer) valid: the next call is refused, the page asks again, the call is retried.
    const authorizations: string[] = [];
    page.on('request', (req) => {
      if (req.url().includes('/v1/')) authorizations.push(`${new URL(req.url()).pathname} ${req.headers().authorization ?? '-'}`);
    });
    unauthorized.length = 0;
    await page.evaluate(`sessionStorage.setItem('streamloop.token', 'sl_not-a-token')`);
    await page.goto(`${stack.serving.url}/console/?pipeline=${encodeURIComponent(name)}&again=1#pipelines`);
    await page.locator('#token-dialog[open]').waitFor({ timeout: 30_000 });
    await page.locator('#token-input').fill(tokens.token.read);
    await page.locator('#token-ok').click();
    await page.waitForSelector('main[data-page="pipelines"][data-state="ready"]', { timeout: 30_000 });
    assert.deepEqual(await errorsShown(), []);
    assert.ok(await page.locator('#lag tbody tr').count() > 0, 'the pipelines view with the read token');
    assert.deepEqual(unauthorized, ['/v1/console/pipelines']);
    const calls = authorizations.map((a) => a.replace(tokens.token.read, 'READ'));
    assert.deepEqual(calls.filter((a) => a.startsWith('/v1/console/pipelines ')), ['/v1/console/pipelines Bearer sl_not-a-token', '/v1/console/pipelines Bearer READ']);
    assert.ok(calls.every((a) => a.endsWith('Bearer READ') || a.endsWith('sl_not-a-token')), calls.join('\n'));
    assert.equal(await page.evaluate(`sessionStorage.getItem('streamloop.token')`), tokens.token.read);
    assert.deepEqual(problems, [], 'no console errors, page errors or failed requests');
  } finally {
    await browser?.close();
    await producer.disconnect().catch(() => undefined);
    await stack.close();
  }
});

async function servedVersion(base: string, headers: Record<string, string>): Promise<number | undefined> {
  const res = await fetch(`${base}/model`, { headers });
  if (!res.ok) return undefined;
  return ((await res.json()) as { model_version: number }).model_version;
}
