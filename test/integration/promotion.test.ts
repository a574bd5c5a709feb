// Retraining on an alert and promotion by evidence on the real broker, through `streamloop start` with every target: a
// champion that has learnt nothing serves; a performance alert about it (as monitoring writes one to P.alerts) starts a
// run once enough new labels exist (the retraining policy); the retrained model beats the champion on the held-out
// window and becomes challenger (offline), scores in shadow beside it, and once the two share promotion.online_labels
// labelled live events the training target promotes it by policy (online) — no manual step. Every decision is
// recorded: the retraining decisions with their reasons, each stage change a registry record with its numbers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { featureNamesOf, loadPipelineSpec } from '@streamloop/config';
import { seededRandom, TabularPipeline } from '@streamloop/ml';
import type { AlertRecord, LabelRecord, PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions, type LabelledTransaction } from '@streamloop/testing';
import { runCli, startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, publishModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName, type TestStack } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const ONLINE_LABELS = 300;

/** The model inference serves, as `name vN`. */
async function served(api: string, pipeline: string): Promise<string | undefined> {
  const res = await fetch(`${api}/v1/pipelines/${pipeline}/model`);
  if (!res.ok) return undefined;
  const m = await res.json() as { model_name: string; model_version: number };
  return `${m.model_name} v${m.model_version}`;
}

/** A performance alert about a model, as monitoring's change detectors write one to P.alerts. */
async function sendAlert(stack: TestStack, pipeline: string, id: string, model: { name: string; version: number; role: 'champion' | 'challenger' }): Promise<void> {
  const ctx = stack.runtime.pipelines.pipeline(pipeline);
  const now = Date.now();
  const alert: AlertRecord = {
    alert_id: id, pipeline, kind: 'performance', feature: '', statistic: 'adwin', value: 0.3, threshold: null, window_start: now - 60_000, window_end: now,
    model_name: model.name, model_version: model.version, model_role: model.role, created_at: now,
  };
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: ctx.topics.alerts, acks: -1, messages: [{ key: pipeline, value: await stack.serde.encode(`${ctx.topics.alerts}-value`, stack.runtime.types.alert, alert) }] });
  await producer.disconnect();
}

interface Decision { trigger: string; alert_id: string; decision: string; reason: string; detail: string; new_labels: number }

async function decisions(api: string, pipeline: string): Promise<Decision[]> {
  const res = await fetch(`${api}/v1/pipelines/${pipeline}/retraining`);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as Decision[];
}

/** Events to P.events.raw and their labels to P.labels, as the producer apps would send them. */
async function send(stack: TestStack, pipeline: string, items: LabelledTransaction[]): Promise<void> {
  const ctx = stack.runtime.pipelines.pipeline(pipeline);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < items.length; i += 200) {
      const slice = items.slice(i, i + 200);
      const events = await Promise.all(slice.map(async ({ event }) => ({ key: event.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, event) })));
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages: events });
      const labels = await Promise.all(slice.map(async ({ event, label }) => {
        const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 60_000 };
        return { key: event.transaction_id, value: await stack.serde.encode(`${ctx.topics.labels}-value`, stack.runtime.types.label, record) };
      }));
      await producer.send({ topic: ctx.topics.labels, acks: -1, messages: labels });
    }
  } finally {
    await producer.disconnect();
  }
}

test('a performance alert retrains (once, by the policy); the new model beats a weak champion offline, shadows it, and is promoted by policy on live events', { skip, timeout: 420_000 }, async (t: TestContext) => {
  const name = uniqueName('promote');
  const specFile = writeSpecFile(name);
  appendFileSync(specFile, `promotion:\n  online_labels: ${ONLINE_LABELS}\n  probation_labels: 0\nretraining:\n  min_new_labels: 1000\n  cooldown: 1h\n`);
  const spec = loadPipelineSpec(specFile);
  const stack = await startStack(brokers!, [spec], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes, 4000);
  try {
    // A champion of the pipeline's features that has learnt nothing (its training labels were noise).
    const features = featureNamesOf(spec.features);
    const rnd = seededRandom(3);
    const X = Array.from({ length: 400 }, () => features.map(() => rnd() * 4 - 2));
    const weak = TabularPipeline.fit(X, X.map(() => (rnd() < 0.3 ? 1 : 0)), { featureNames: features });
    await publishModel(stack, name, championRecord(name, 'weak', 1, weak));
    const { service, api } = await startPlatform(stack, brokers!, specFile, 'ingestion,features,inference,monitoring,training');
    processes.push(service);
    await eventually(async () => ((await served(api, name)) === 'weak v1' ? true : undefined), `the weak champion serving\n${why()}`, 60_000);

    const stream = generateCardTransactions({ seed: 17, events: 4000, cards: 150, compromiseRate: 0.05, idPrefix: name });
    t.diagnostic(`${stream.filter((x) => x.label === 1).length} positive labels in ${stream.length} events`);
    await send(stack, name, stream.slice(0, 2500));
    // An alert about a challenger is not the policy's business; alerts about the champion start a run once monitoring
    // has sunk retraining.min_new_labels labelled events (until then each is skipped, with the count).
    await sendAlert(stack, name, `${name}-about-challenger`, { name: 'other', version: 7, role: 'challenger' });
    let sent = 0;
    await eventually(async () => {
      const all = await decisions(api, name);
      if (all.some((d) => d.decision === 'trained' && d.trigger === 'alert')) return true;
      await sendAlert(stack, name, `${name}-alert-${++sent}`, { name: 'weak', version: 1, role: 'champion' });
      await new Promise((r) => setTimeout(r, 2000));
      return undefined;
    }, `an alert starting a run\n${why()}`, 120_000);
    type Trained = { model_name: string; model_version: number; stage: string; decision_reason: string; decision_metrics: Record<string, number> };
    const trained = await eventually(async () => {
      const list = await runCli(['models', 'list', '--pipeline', name, '--api', api, '--json']);
      return (JSON.parse(list.stdout) as { models: Trained[] }).models.find((m) => m.model_name === spec.model.name);
    }, `the retrained model published\n${why()}`, 120_000);
    t.diagnostic(`trained ${trained.model_name} v${trained.model_version}: ${trained.stage} — ${trained.decision_reason}`);
    assert.equal(trained.stage, 'challenger');
    assert.match(trained.decision_reason, /^trained alert performance \(adwin\) about weak v1, \d+ new labelled events; offline against weak v1: better: AUC/);
    const shown = await (await fetch(`${api}/v1/pipelines/${name}/models/${trained.model_version}?model=${trained.model_name}`)).json() as Trained;
    assert.ok(shown.decision_metrics.offline_auc_p_value < 0.05 && shown.decision_metrics.offline_n > 0, JSON.stringify(shown.decision_metrics));
    // Another alert in the cooldown starts nothing.
    await sendAlert(stack, name, `${name}-late`, { name: 'weak', version: 1, role: 'champion' });
    const recorded = await eventually(async () => {
      const all = await decisions(api, name);
      return all.some((d) => d.alert_id === `${name}-late`) ? all : undefined;
    }, `the late alert's decision\n${why()}`, 30_000);
    const byAlert = new Map(recorded.map((d) => [d.alert_id, d]));
    t.diagnostic(recorded.map((d) => `${d.alert_id}: ${d.decision} ${d.reason} — ${d.detail}`).join('\n'));
    assert.deepEqual([byAlert.get(`${name}-about-challenger`)?.reason, byAlert.get(`${name}-late`)?.reason], ['not_the_champion', 'cooldown']);
    assert.ok(recorded.filter((d) => d.reason === 'not_enough_new_labels').every((d) => d.new_labels < 1000));
    assert.equal(recorded.filter((d) => d.decision === 'trained').length, 1, 'one run for all those alerts');

    // Live events: the challenger scores in shadow; once it shares ONLINE_LABELS labelled events with the champion,
    // the training target decides by itself.
    await send(stack, name, stream.slice(2500));
    await eventually(async () => ((await served(api, name)) === `${trained.model_name} v${trained.model_version}` ? true : undefined),
      `the challenger promoted on live events\n${why()}`, 120_000);
    const shadow = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.shadow)).map((r) => r.value);
    assert.ok(shadow.length >= ONLINE_LABELS && shadow.every((p) => p.model_version === trained.model_version && p.role === 'challenger'));

    const list = await runCli(['models', 'list', '--pipeline', name, '--api', api, '--json']);
    const models = (JSON.parse(list.stdout) as { models: Array<{ model_name: string; model_version: number; stage: string; serving: boolean; decided_by: string; decision_reason: string; metrics: Record<string, number> }> }).models;
    const promoted = models.find((m) => m.model_name === trained.model_name && m.model_version === trained.model_version)!;
    t.diagnostic(`promoted: ${promoted.decision_reason}`);
    assert.deepEqual([promoted.stage, promoted.serving, promoted.decided_by], ['champion', true, 'policy']);
    assert.match(promoted.decision_reason, new RegExp(`^online against weak v1 on ${ONLINE_LABELS} labelled live events \\(promotion\\.online_labels\\): better: AUC`));
  } finally {
    await stopProcesses(processes);
    await stack.close();
  }
});
