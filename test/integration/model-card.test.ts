// Model cards with the real broker and embedded ClickHouse: two versions trained by the training target (the
// experiment log in ClickHouse, the records on the registry topic), an operator's rollback with a hostile reason,
// the registry's records mirrored into model_events as the monitoring sink writes them. `streamloop models card`
// prints the Markdown card; the endpoint answers the HTML page; an unknown version is 404.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertRows, MODEL_EVENTS_SINK, TABLES } from '@streamloop/clickhouse';
import { FeatureComputer } from '@streamloop/features';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { generateCardTransactions } from '@streamloop/testing';
import { TrainingModule } from '@streamloop/training';
import { runCli } from '../support/cli-process';
import { assertErrorBody, request } from '../support/http-errors';
import { brokersOrSkip, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const HOSTILE = '<script>alert(1)</script> scores drifted';

test('streamloop models card prints the Markdown card of a trained version; the endpoint answers HTML; unknown versions are 404', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 240_000 }, async () => {
  const name = uniqueName('card');
  const spec = testPipeline(name, (s) => {
    s.training.minLabels = 500;
    s.topics.models = uniqueName('models');
  });
  const stack = await startStack(brokers!, [spec], [TrainingModule]);
  try {
    const base = `${stack.serving.url}/v1/pipelines/${name}`;
    // Feature vectors and labels, as monitoring would have sunk them.
    const computer = new FeatureComputer(spec);
    const stream = generateCardTransactions({ seed: 5, events: 1500, idPrefix: name, compromiseRate: 0.03 });
    const ch = await stack.runtime.clickhouseConnection.client();
    await insertRows(ch, TABLES.features, stream.map(({ event }) => {
      const f = computer.compute(event as unknown as Record<string, unknown>);
      return { pipeline: name, event_id: event.transaction_id, entity_key: f.entityKey, event_time: f.eventTime, feature_spec_version: 'v1', values: f.values, computed_at: Date.now(), source_partition: 0, source_offset: 0 };
    }));
    await insertRows(ch, TABLES.labels, stream.slice(0, 1400).map(({ event, label }) => ({ pipeline: name, event_id: event.transaction_id, label, label_time: event.event_time + 1000 })));

    for (const version of [1, 2]) {
      const res = await fetch(`${base}/train`, { method: 'POST' });
      assert.equal(res.status, 201, await res.clone().text());
      assert.equal(((await res.json()) as { model_version: number }).model_version, version);
    }
    const rollback = await fetch(`${base}/models/rollback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: HOSTILE }) });
    assert.equal(rollback.status, 201, await rollback.text());
    // The registry topic has one partition: the i-th record is at offset i.
    const records = await readAll<ModelRegistryRecord>(stack.kafka, stack.serde, spec.topics.models!);
    assert.deepEqual(records.map((r) => `${r.value.model_version}:${r.value.stage}`), ['1:champion', '2:champion', '2:rejected']);
    await insertRows(ch, TABLES.model_events, records.map((r, i) => MODEL_EVENTS_SINK.toRow(r.value, { pipeline: name, partition: 0, offset: String(i), schemaId: 1 })));

    // --- The CLI prints the Markdown card.
    const cli = await runCli(['models', 'card', '--pipeline', name, '--version', '2', '--api', stack.serving.url]);
    assert.equal(cli.code, 0, cli.stderr);
    const md = cli.stdout;
    assert.ok(md.startsWith(`# Model card: ${spec.model.name} v2\n`), md.slice(0, 200));
    for (const section of ['Overview', 'Intended use and owner', 'Training data', 'Features and importance', 'Parameters and search', 'Held-out metrics',
      'Calibration', 'Threshold', 'Segments (fairness)', 'Drift reference', 'Lineage', 'Limitations', 'Promotion history']) {
      assert.ok(md.includes(`\n## ${section}\n`), `section ${section}`);
    }
    assert.match(md, /- Owner: payments-risk team/);
    assert.match(md, /\| training rows \| 1120 \|/);
    assert.match(md, /\| roc_auc \| 0\.\d{3} \| \[0\.\d{3}, 0\.\d{3}\] \|/, 'the held-out AUC with its bootstrap interval');
    assert.match(md, /- Parent champion: fraud-lr v1 \(the champion serving when this version was published\)/);
    assert.match(md, /- Triggered by: on command \(HTTP\)/);
    assert.match(md, new RegExp(`- Experiment: \`${name}/fraud-lr\`, run \`[0-9a-f-]{36}\``));
    assert.match(md, /\| champion \| training \| trained on command \(HTTP\); a new model serves as champion \|/);
    assert.match(md, /\| rejected \| api \| &lt;script&gt;alert\(1\)&lt;\/script&gt; scores drifted \|/);
    assert.ok(!md.includes('<script>'));

    // --- The endpoint answers one self-contained HTML page; --out writes it.
    const html = await request(`${base}/models/2/card?format=html`);
    assert.equal(html.status, 200, html.text.slice(0, 300));
    assert.match(html.contentType, /^text\/html; charset=utf-8/);
    assert.ok(html.text.startsWith('<!DOCTYPE html>'));
    assert.ok(html.text.includes('<h2>Promotion history</h2>') && html.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!/<script/i.test(html.text) && !/\s(src|href)=/i.test(html.text), 'no script, nothing fetched');
    const out = join(mkdtempSync(join(tmpdir(), 'streamloop-card-')), 'v1.html');
    const written = await runCli(['models', 'card', '--pipeline', name, '--version', '1', '--format', 'html', '--out', out, '--api', stack.serving.url]);
    assert.equal(written.code, 0, written.stderr);
    assert.match(readFileSync(out, 'utf8'), /<h1>Model card: fraud-lr v1<\/h1>/);
    const markdown = await request(`${base}/models/1/card`);
    assert.match(markdown.contentType, /^text\/markdown/);
    assert.match(markdown.text, /- Parent champion: none: no champion served when this version was published/);

    // --- Unknown version, bad format.
    assertErrorBody(await request(`${base}/models/9/card?format=html`), 404, 'NOT_FOUND');
    assertErrorBody(await request(`${base}/models/1/card?format=pdf`), 400, 'INVALID_INPUT');
    const unknown = await runCli(['models', 'card', '--pipeline', name, '--version', '9', '--api', stack.serving.url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no model version 9/);
  } finally {
    await stack.close();
  }
});
