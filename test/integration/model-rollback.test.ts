// Safe rollout, first part: an operator rolls the serving champion back with the CLI while events flow. Two champions
// are published (v1, then v2, which serves); ingestion, features, inference and training run in one `streamloop start`.
// A producer app streams events; mid-stream `streamloop models rollback` rejects v2. Every event must get exactly one
// prediction (read_committed), those made a second after the command answered by v1, without a restart; the registry
// must show who rolled back and why; a rollback with no earlier champion left must be refused with its reason.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadPipelineSpec } from '@streamloop/config';
import type { PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { runCli, servedVersion, startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('models rollback through the CLI while events flow: the previous champion serves within a second, no event unscored or scored twice', { skip, timeout: 300_000 }, async (t: TestContext) => {
  const name = uniqueName('rollback');
  const specFile = writeSpecFile(name);
  const stack = await startStack(brokers!, [loadPipelineSpec(specFile)], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    await publishModel(stack, name, championRecord(name, 'rollback-model', 1, trainTestModel(FEATURES, 7)));
    await publishModel(stack, name, championRecord(name, 'rollback-model', 2, trainTestModel(FEATURES, 11)));
    const { service, api } = await startPlatform(stack, brokers!, specFile, 'ingestion,features,inference,training');
    processes.push(service);
    await eventually(async () => ((await servedVersion(api, name)) === 2 ? true : undefined), `inference serving v2\n${why()}`, 60_000);

    const list = await runCli(['models', 'list', '--pipeline', name, '--api', api]);
    t.diagnostic(list.stdout);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^\*\s+rollback-model\s+v2\s+champion/m, 'v2 marked as serving');

    // --- The producer app streams 100 batches of 5 events, 100 ms apart; the rollback is asked after the 15th (the CLI
    // itself takes a few seconds to start).
    const events = generateCardTransactions({ seed: 21, events: 500, cards: 40, idPrefix: name }).map((x) => x.event);
    let rolledBackAt = 0;
    let rollback: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
    for (let batch = 0; batch < 100; batch++) {
      const slice = events.slice(batch * 5, batch * 5 + 5);
      const messages = await Promise.all(slice.map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })));
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages });
      if (batch === 15) {
        rollback = runCli(['models', 'rollback', '--pipeline', name, '--api', api, '--reason', 'scores drifted in the canary']).then((r) => {
          rolledBackAt = Date.now();
          return r;
        });
      }
      await sleep(100);
    }
    const done = await rollback!;
    t.diagnostic(`rollback: ${done.stdout.trim()} ${done.stderr.trim()}`);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /rollback-model v2: champion → rejected .*serving: rollback-model v1/);

    const predictions = await eventually(async () => {
      const all = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value);
      return new Set(all.map((p) => p.event_id)).size >= events.length ? all : undefined;
    }, `a prediction for each of ${events.length} events\n${why()}`, 90_000);
    await sleep(1000);
    const all = (await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value);
    const counts = new Map<string, number>();
    for (const p of all) counts.set(p.event_id, (counts.get(p.event_id) ?? 0) + 1);
    const missing = events.filter((e) => !counts.has(e.transaction_id)).length;
    const repeated = [...counts.values()].filter((n) => n > 1).length;
    assert.deepEqual({ missing, repeated, predictions: all.length }, { missing: 0, repeated: 0, predictions: events.length }, 'one prediction per event');
    assert.ok(predictions.length >= events.length);

    const byVersion = (v: number) => all.filter((p) => p.model_version === v);
    const lateV2 = byVersion(2).filter((p) => p.predicted_at > rolledBackAt + 1000);
    t.diagnostic(`v2 served ${byVersion(2).length}, v1 ${byVersion(1).length}; last v2 prediction ${Math.max(...byVersion(2).map((p) => p.predicted_at)) - rolledBackAt} ms after the command answered`);
    assert.ok(byVersion(2).length > 0, 'v2 served before the rollback');
    assert.ok(byVersion(1).length > 0, 'v1 serves after it');
    assert.deepEqual(lateV2.map((p) => p.event_id).slice(0, 5), [], 'nothing served by v2 more than a second after the rollback answered');

    // --- The registry says who did it and why; with one champion left, another rollback is refused with the reason.
    const after = await runCli(['models', 'list', '--pipeline', name, '--api', api, '--json']);
    const models = (JSON.parse(after.stdout) as { models: Array<{ model_version: number; stage: string; serving: boolean; decided_by: string; decision_reason: string }> }).models;
    const v2 = models.find((m) => m.model_version === 2)!;
    assert.deepEqual([v2.stage, v2.serving, v2.decided_by, v2.decision_reason], ['rejected', false, 'cli', 'scores drifted in the canary']);
    assert.equal(models.find((m) => m.model_version === 1)?.serving, true);
    const refused = await runCli(['models', 'rollback', '--pipeline', name, '--api', api]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HTTP 409 MODEL_STAGE_CONFLICT: cannot roll back rollback-model v1: no earlier champion would serve/);
    const unknown = await runCli(['models', 'promote', '--pipeline', name, '--api', api, '--version', '9']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /HTTP 404 NOT_FOUND: pipeline \S+ has no model version 9/);

    // --- Promoted back by the API (recorded as such), v2 serves again.
    const res = await fetch(`${api}/v1/pipelines/${name}/models/2/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'fixed' }) });
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(await res.json(), {
      model_name: 'rollback-model', model_version: 2, from: 'rejected', to: 'champion', serving: { model_name: 'rollback-model', model_version: 2 },
      challenger: null, decided_by: 'api', decision_reason: 'fixed',
    });
    await eventually(async () => ((await servedVersion(api, name)) === 2 ? true : undefined), `inference serving v2 again\n${why()}`, 10_000);
    const bad = await fetch(`${api}/v1/pipelines/${name}/models/2/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stage: 'x' }) });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /unknown field stage/);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await stopProcesses(processes);
    await stack.close();
  }
});
