// Safe rollout, second part: a challenger beside the champion, on the real broker, through `streamloop start`.
// Shadow: the operator makes v2 the challenger with the CLI; every event then gets exactly one served prediction on
// P.predictions (the champion's) and one shadow prediction on P.predictions.shadow (the challenger's), read as a
// consumer app reads them (read_committed). Split: the challenger serves exactly the entities whose stable hash falls in
// the configured share, and the share of entities it serves is within binomial bounds of it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { loadPipelineSpec } from '@streamloop/config';
import { challengerServes } from '@streamloop/model-registry';
import type { PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions, type CardTransaction } from '@streamloop/testing';
import { runCli, startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName, type TestStack } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SPLIT_SHARE = 0.3;

/** Sends the events to P.events.raw as a producer app would, keyed by card. */
async function sendEvents(stack: TestStack, pipeline: string, events: CardTransaction[]): Promise<void> {
  const ctx = stack.runtime.pipelines.pipeline(pipeline);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 100) {
      const messages = await Promise.all(events.slice(i, i + 100).map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })));
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Every record of a topic (read_committed), once each event has one; then counted per event id. */
async function onePerEvent(stack: TestStack, topic: string, eventIds: string[], why: () => string): Promise<Map<string, PredictionRecord[]>> {
  const read = async () => (await readAll<PredictionRecord>(stack.kafka, stack.serde, topic)).map((r) => r.value);
  await eventually(async () => (new Set((await read()).map((p) => p.event_id)).size >= eventIds.length ? true : undefined),
    `a record on ${topic} for each of ${eventIds.length} events\n${why()}`, 120_000);
  await sleep(1000);
  const perEvent = new Map<string, PredictionRecord[]>();
  for (const p of await read()) perEvent.set(p.event_id, [...(perEvent.get(p.event_id) ?? []), p]);
  const missing = eventIds.filter((id) => !perEvent.has(id)).length;
  const repeated = [...perEvent.values()].filter((ps) => ps.length > 1).length;
  assert.deepEqual({ missing, repeated, distinct: perEvent.size }, { missing: 0, repeated: 0, distinct: eventIds.length }, `one record per event on ${topic}`);
  return perEvent;
}

/**
 * A pipeline of its own with champion v1 and v2 (in `v2Stage`), `streamloop start` on it with `targets`, and `body`
 * run against them; then everything is stopped. `serving` is appended to the spec as its serving section.
 */
async function withTwoModels(
  tag: string, v2Stage: 'candidate' | 'challenger', targets: string, serving: string,
  body: (run: { name: string; api: string; stack: TestStack; topics: { predictions: string; shadow: string }; why: () => string }) => Promise<void>,
): Promise<void> {
  const name = uniqueName(tag);
  const specFile = writeSpecFile(name);
  if (serving) appendFileSync(specFile, serving);
  const stack = await startStack(brokers!, [loadPipelineSpec(specFile)], []);
  const { topics } = stack.runtime.pipelines.pipeline(name);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  try {
    await publishModel(stack, name, championRecord(name, 'fraud-model', 1, trainTestModel(FEATURES, 7)));
    await publishModel(stack, name, { ...championRecord(name, 'fraud-model', 2, trainTestModel(FEATURES, 11)), stage: v2Stage });
    const { service, api } = await startPlatform(stack, brokers!, specFile, targets);
    processes.push(service);
    await body({ name, api, stack, topics, why });
  } finally {
    await stopProcesses(processes);
    await stack.close();
  }
}

/** Waits until inference reports challenger v2 loaded (its model-version gauge). */
async function challengerLoaded(api: string, name: string, why: () => string): Promise<void> {
  await eventually(async () => {
    const metrics = await (await fetch(`${api}/metrics`)).text();
    return new RegExp(`streamloop_model_version\\{[^}]*pipeline="${name}"[^}]*role="challenger"[^}]*\\} 2`).test(metrics) ? true : undefined;
  }, `inference loading the challenger\n${why()}`, 60_000);
}

test('shadow: the challenger the CLI names scores every event into P.predictions.shadow; P.predictions holds only the champion', { skip, timeout: 300_000 }, (t: TestContext) =>
  withTwoModels('shadow', 'candidate', 'ingestion,features,inference,training', '', async ({ name, api, stack, topics, why }) => {

    const promoted = await runCli(['models', 'promote', '--pipeline', name, '--api', api, '--version', '2', '--to', 'challenger', '--reason', 'shadow before rollout']);
    t.diagnostic(promoted.stdout.trim());
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /fraud-model v2: candidate → challenger \(shadow before rollout\); serving: fraud-model v1; challenger: fraud-model v2/);
    const list = await runCli(['models', 'list', '--pipeline', name, '--api', api]);
    assert.match(list.stdout, /^~\s+fraud-model\s+v2\s+challenger/m, `v2 marked as the challenger\n${list.stdout}`);
    // The challenger is loaded by inference from the registry topic: wait until the metric says so.
    await challengerLoaded(api, name, why);

    const events = generateCardTransactions({ seed: 5, events: 600, cards: 60, idPrefix: name }).map((x) => x.event);
    await sendEvents(stack, name, events);
    const ids = events.map((e) => e.transaction_id);
    const served = await onePerEvent(stack, topics.predictions, ids, why);
    const shadow = await onePerEvent(stack, topics.shadow, ids, why);
    const servedBy = new Set([...served.values()].map(([p]) => `${p.role} v${p.model_version}`));
    const shadowBy = new Set([...shadow.values()].map(([p]) => `${p.role} v${p.model_version}`));
    assert.deepEqual([[...servedBy], [...shadowBy]], [['champion v1'], ['challenger v2']]);
    // The two models differ, and each shadow record is the challenger's score of the same event the champion served.
    const differ = ids.filter((id) => Math.abs(served.get(id)![0].score - shadow.get(id)![0].score) > 1e-9).length;
    assert.ok(differ > ids.length / 2, `the challenger's scores differ from the champion's on most events (${differ} of ${ids.length})`);
    for (const id of ids) {
      const [s, c] = [served.get(id)![0], shadow.get(id)![0]];
      assert.deepEqual([c.entity_key, c.event_time, c.latency_ms, c.predicted_at], [s.entity_key, s.event_time, s.latency_ms, s.predicted_at], `${id}: one batch, one transaction`);
    }
  }));

test('split: the challenger serves exactly the entities in its share (stable hash), one served prediction per event, none in shadow', { skip, timeout: 300_000 }, (t: TestContext) =>
  withTwoModels('split', 'challenger', 'ingestion,features,inference', `serving:\n  challenger:\n    mode: split\n    share: ${SPLIT_SHARE}\n`, async ({ name, api, stack, topics, why }) => {
    const share = SPLIT_SHARE;
    await challengerLoaded(api, name, why);

    const cards = 400;
    const events = generateCardTransactions({ seed: 9, events: 2000, cards, idPrefix: name }).map((x) => x.event);
    await sendEvents(stack, name, events);
    const served = await onePerEvent(stack, topics.predictions, events.map((e) => e.transaction_id), why);
    const wrongArm = [...served.values()].filter(([p]) => (p.role === 'challenger') !== challengerServes(p.entity_key, share)
      || p.model_version !== (p.role === 'challenger' ? 2 : 1) || p.fallback);
    assert.deepEqual(wrongArm.slice(0, 3), [], 'each event served by the arm its entity hashes to');
    const entities = new Set(events.map((e) => e.card_id));
    const challengerEntities = [...entities].filter((k) => challengerServes(k, share)).length;
    const sd = Math.sqrt(entities.size * share * (1 - share));
    t.diagnostic(`challenger serves ${challengerEntities} of ${entities.size} entities (share ${share}, ±4σ = ${(4 * sd).toFixed(1)})`);
    assert.ok(Math.abs(challengerEntities - entities.size * share) < 4 * sd, `${challengerEntities} of ${entities.size} entities within binomial bounds of ${share}`);
    assert.ok([...served.values()].some(([p]) => p.role === 'challenger') && [...served.values()].some(([p]) => p.role === 'champion'), 'both arms served');
    assert.equal((await readAll<PredictionRecord>(stack.kafka, stack.serde, topics.shadow)).length, 0, 'nothing in shadow in split mode');
  }));
