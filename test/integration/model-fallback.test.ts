// Fallback, never a stall (issue 12 item 3): a champion that passes its load checks but scores outside [0, 1] at serve
// time. Two champions are published (v1 good, then v2 broken, which serves); ingestion, features and inference run in
// one `streamloop start` with `serving.max_model_failures: 30`. A producer app streams events. Every event must get
// exactly one prediction (read_committed), none with a score outside [0, 1]; the rows v2 failed on are scored by v1 and
// flagged `fallback`; v2 is demoted in the registry by policy with its counts, and then v1 serves unflagged.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { loadPipelineSpec } from '@streamloop/config';
import { listModels, readRegistry } from '@streamloop/model-registry';
import type { PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { servedVersion, startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, outOfRangeRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
const MAX_MODEL_FAILURES = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a champion that scores outside [0, 1]: its rows are scored by the last good champion, flagged; it is demoted by policy; one prediction per event', { skip, timeout: 300_000 }, async (t: TestContext) => {
  const name = uniqueName('fallback');
  const specFile = writeSpecFile(name);
  appendFileSync(specFile, `\nserving:\n  max_model_failures: ${MAX_MODEL_FAILURES}\n`);
  const stack = await startStack(brokers!, [loadPipelineSpec(specFile)], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await publishModel(stack, name, championRecord(name, 'fallback-model', 1, trainTestModel(FEATURES, 7)));
    await publishModel(stack, name, outOfRangeRecord(name, 'fallback-model', 2, trainTestModel(FEATURES, 11)));
    const { service, api } = await startPlatform(stack, brokers!, specFile, 'ingestion,features,inference');
    processes.push(service);
    await eventually(async () => ((await servedVersion(api, name)) === 2 ? true : undefined), `inference serving v2 (it passes the load checks)\n${why()}`, 60_000);

    // --- The producer app streams 40 batches of 5 events, 50 ms apart.
    const events = generateCardTransactions({ seed: 5, events: 200, cards: 30, idPrefix: name }).map((x) => x.event);
    for (let batch = 0; batch < 40; batch++) {
      const slice = events.slice(batch * 5, batch * 5 + 5);
      const messages = await Promise.all(slice.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })));
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages });
      await sleep(50);
    }
    await eventually(async () => {
      const all = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value);
      return new Set(all.map((p) => p.event_id)).size >= events.length ? true : undefined;
    }, `a prediction for each of ${events.length} events\n${why()}`, 90_000);
    await sleep(1000);
    const all = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value);
    const counts = new Map<string, number>();
    for (const p of all) counts.set(p.event_id, (counts.get(p.event_id) ?? 0) + 1);
    const missing = events.filter((e) => !counts.has(e.transaction_id)).length;
    const repeated = [...counts.values()].filter((n) => n > 1).length;
    assert.deepEqual({ missing, repeated, predictions: all.length }, { missing: 0, repeated: 0, predictions: events.length }, 'one prediction per event');

    // --- No score outside [0, 1] left the pipeline; what v2 failed on, v1 scored, flagged.
    const outside = all.filter((p) => !(p.score >= 0 && p.score <= 1));
    assert.deepEqual(outside.map((p) => `${p.event_id} ${p.score}`).slice(0, 5), [], 'no score outside [0, 1]');
    const flagged = all.filter((p) => p.fallback);
    const byV2 = all.filter((p) => p.model_version === 2);
    const byV1 = all.filter((p) => p.model_version === 1);
    t.diagnostic(`v2 scored ${byV2.length}; v1 scored ${byV1.length}, ${flagged.length} of them as the fallback`);
    assert.ok(flagged.length >= MAX_MODEL_FAILURES, `at least ${MAX_MODEL_FAILURES} fallback predictions before the demotion, got ${flagged.length}`);
    assert.deepEqual(flagged.filter((p) => p.model_version !== 1).map((p) => p.model_version), [], 'fallback predictions name the model that scored: v1');
    assert.deepEqual(byV2.filter((p) => p.fallback).length, 0);
    assert.ok(byV1.some((p) => !p.fallback), 'after the demotion v1 serves, unflagged');
    // Nothing was dead-lettered: every failed row had a fallback.
    const dlq = await readAll<{ error_message?: string }>(stack.kafka, stack.serde, ctx.topics.dlq);
    assert.equal(dlq.length, 0, JSON.stringify(dlq.slice(0, 2).map((d) => d.value)));

    // --- The registry: v2 rejected by policy with the failures, v1 the champion.
    const registry = await readRegistry(stack.runtime, ctx.topics.models, { pipeline: name });
    const models = listModels(registry, name);
    const v2 = models.find((m) => m.model_version === 2)!;
    t.diagnostic(`v2: ${v2.stage} by ${v2.decided_by}: ${v2.decision_reason}`);
    assert.deepEqual([v2.stage, v2.serving, v2.decided_by], ['rejected', false, 'policy']);
    assert.match(v2.decision_reason, /failed at serve time on \d+ rows \(serving\.max_model_failures 30\); last: out_of_range, scored \S+, expected a probability in \[0, 1\]/);
    const record = [...registry.versions.values()].find((e) => e.record.model_version === 2)!.record;
    assert.equal(record.decision_metrics.max_model_failures, MAX_MODEL_FAILURES);
    assert.ok(record.decision_metrics.failed_rows >= MAX_MODEL_FAILURES);
    assert.equal(record.decision_metrics.out_of_range, record.decision_metrics.failed_rows);
    assert.equal(models.find((m) => m.model_version === 1)?.serving, true);
    assert.equal(models.filter((m) => m.decided_by === 'policy').length, 1, 'demoted once');
    await eventually(async () => ((await servedVersion(api, name)) === 1 ? true : undefined), `inference serving v1\n${why()}`, 10_000);

    // --- The metric counts what fell back.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('streamloop_model_fallbacks_total{') && l.includes(`pipeline="${name}"`) && l.includes('version="2"'));
    assert.match(line ?? '', /reason="out_of_range"\} (\d+)$/);
    assert.ok(Number(line!.split(' ').pop()) >= MAX_MODEL_FAILURES, line);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await stopProcesses(processes);
    await stack.close();
  }
});

test('the only champion scores outside [0, 1]: its records are dead-lettered with the reason, the partition moves on, and it is not demoted', { skip, timeout: 300_000 }, async () => {
  const name = uniqueName('nofallback');
  const specFile = writeSpecFile(name);
  appendFileSync(specFile, `\nserving:\n  max_model_failures: 5\n`);
  const stack = await startStack(brokers!, [loadPipelineSpec(specFile)], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await publishModel(stack, name, outOfRangeRecord(name, 'broken-model', 1, trainTestModel(FEATURES, 11)));
    const { service, api } = await startPlatform(stack, brokers!, specFile, 'ingestion,features,inference');
    processes.push(service);
    await eventually(async () => ((await fetch(`${api}/v1/pipelines/${name}/model`)).ok ? true : undefined), `inference serving v1\n${why()}`, 60_000);
    const events = generateCardTransactions({ seed: 6, events: 50, cards: 10, idPrefix: name }).map((x) => x.event);
    const messages = await Promise.all(events.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })));
    await producer.send({ topic: ctx.topics.raw, acks: -1, messages });

    // Every event is either predicted (a row the model happened to score in [0, 1]) or dead-lettered by inference.
    const settled = await eventually(async () => {
      const predictions = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value);
      const dead = (await readAll<{ stage: string; error_class: string; error_message: string }>(stack.kafka, stack.serde, ctx.topics.dlq)).map((r) => r.value);
      return predictions.length + dead.length >= events.length ? { predictions, dead } : undefined;
    }, `each of ${events.length} events predicted or dead-lettered\n${why()}`, 90_000);
    assert.equal(settled.predictions.length + settled.dead.length, events.length);
    assert.ok(settled.dead.length > 0);
    assert.ok(settled.predictions.every((p) => p.score >= 0 && p.score <= 1 && !p.fallback));
    const [first] = settled.dead;
    assert.equal(first.stage, 'inference');
    assert.equal(first.error_class, 'ModelFailedError');
    assert.match(first.error_message, /model broken-model v1 scored \S+, expected a probability in \[0, 1\]; no earlier champion loaded to fall back to/);

    // Nothing would serve after it: the registry keeps it as champion, and inference says why it did not demote it.
    const registry = await readRegistry(stack.runtime, ctx.topics.models, { pipeline: name });
    assert.deepEqual(listModels(registry, name).map((m) => [m.model_version, m.stage, m.serving]), [[1, 'champion', true]]);
    assert.match(service.output(), /failing model not demoted/);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await stopProcesses(processes);
    await stack.close();
  }
});
