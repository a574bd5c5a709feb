// Exactly-once inference on the real broker: the inference service runs in its own process and is SIGKILLed three
// times while feature vectors stream into P.features, restarted each time. Afterwards P.predictions, read as a
// consumer app reads it (read_committed), must hold exactly one prediction per event id, scored as an
// uninterrupted run scores it. How long each restart takes to produce its first prediction is logged, not asserted.
// Run again with a challenger in shadow: then P.predictions.shadow too must hold exactly one (the challenger's) per event.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { featureNamesOf, loadPipelineSpec } from '@streamloop/config';
import { seededRandom } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { FeatureVectorRecord, PredictionRecord } from '@streamloop/runtime';
import { championRecord, publishModel, referenceScores, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, startServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName, type TestStack } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
const SESSION_TIMEOUT_MS = 6000;
interface KillRun {
  vectors: number;
  kills: number;
  /** A challenger in shadow beside the champion: its predictions are checked on P.predictions.shadow too. */
  challenger: boolean;
}
const CHUNK = 100;
const CHUNK_PAUSE_MS = 10;
/** Pipeline features the test model reads (a subset of the fraud pipeline's; NaN marks a missing value). */
const MODEL_FEATURES = ['log_amount', 'foreign', 'card_txn_count_1h', 'amount_vs_card_mean'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Deterministic full feature vectors of the pipeline (every feature it produces, as the features service writes
 * them), keyed by 150 entities so every P.features partition gets some.
 */
function featureVectors(pipeline: string, names: string[], n: number, seed: number): FeatureVectorRecord[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const values: Record<string, number> = Object.fromEntries(names.map((f) => [f, Math.round(rnd() * 1000) / 100]));
    values.foreign = rnd() < 0.2 ? 1 : 0;
    values.card_txn_count_1h = Math.floor(rnd() * 10);
    if (rnd() < 0.1) values.amount_vs_card_mean = Number.NaN;
    return {
      event_id: `${pipeline}-${i}`,
      pipeline,
      entity_key: `card-${i % 150}`,
      event_time: 1_700_000_000_000 + i * 500,
      feature_spec_version: 'v1',
      values,
      computed_at: 1_700_000_000_000 + i * 500,
    };
  });
}

interface PredictionWatcher {
  seen: Array<{ eventId: string; predictedAt: number }>;
  /** Resolves the moment a prediction made at or after `since` is seen (in the watcher's own consumer callback, not a poll). */
  firstSince(since: number, timeoutMs: number, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** A consumer app following P.predictions (read_committed), noting when each prediction was made and seen. */
async function watchPredictions(stack: TestStack, topic: string): Promise<PredictionWatcher> {
  const seen: PredictionWatcher['seen'] = [];
  const waiters: Array<{ since: number; resolve: () => void }> = [];
  const consumer = stack.kafka.consumer({ groupId: uniqueName('prediction-watcher'), readUncommitted: false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const { value } = await stack.serde.decode<PredictionRecord>(message.value);
      seen.push({ eventId: value.event_id, predictedAt: value.predicted_at });
      for (const w of waiters.filter((x) => value.predicted_at >= x.since)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
  });
  return {
    seen,
    firstSince: (since, timeoutMs, what) => new Promise<void>((resolve, reject) => {
      if (seen.some((x) => x.predictedAt >= since)) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      waiters.push({ since, resolve: () => { clearTimeout(timer); resolve(); } });
    }),
    stop: () => consumer.disconnect(),
  };
}

test('inference survives SIGKILL mid-stream: exactly one prediction per event, scored as an uninterrupted run', { skip, timeout: 420_000 }, (t: TestContext) =>
  killRun(t, { vectors: 8000, kills: 3, challenger: false }));

test('with a challenger in shadow: exactly one served and one shadow prediction per event after SIGKILLs, each scored as uninterrupted', { skip, timeout: 420_000 }, (t: TestContext) =>
  killRun(t, { vectors: 4000, kills: 2, challenger: true }));

async function killRun(t: TestContext, { vectors: VECTORS, kills: KILLS, challenger }: KillRun): Promise<void> {
  const name = uniqueName('infeos');
  const specFile = writeSpecFile(name);
  const spec = loadPipelineSpec(specFile);
  for (const f of MODEL_FEATURES) assert.ok(featureNamesOf(spec.features).includes(f), `${f} is a feature of the example pipeline`);
  const stack = await startStack(brokers!, [spec], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const env = {
    KAFKA_BROKERS: brokers!.join(','),
    SCHEMA_REGISTRY_URL: stack.registryUrl,
    STREAMLOOP_PIPELINES: specFile,
    KAFKA_SESSION_TIMEOUT: `${SESSION_TIMEOUT_MS / 1000}s`,
    // info: a failed restart shows what the process was doing (restores, the model it serves, retries).
    LOG_LEVEL: process.env.CHILD_LOG_LEVEL ?? 'info',
  };
  const vectors = featureVectors(name, featureNamesOf(spec.features), VECTORS, 11);
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  const watcher = await watchPredictions(stack, ctx.topics.predictions);
  const producer = stack.kafka.producer({ idempotent: true });
  await producer.connect();

  /** Publishes vectors[from, to) to P.features in small chunks over time, as the features service would. */
  const publish = async (from: number, to: number) => {
    for (let i = from; i < to; i += CHUNK) {
      const messages = await Promise.all(vectors.slice(i, Math.min(i + CHUNK, to)).map(async (v) => ({
        key: v.entity_key,
        value: await stack.serde.encode(`${ctx.topics.features}-value`, stack.runtime.types.featureVector, v),
      })));
      await producer.send({ topic: ctx.topics.features, messages, acks: -1 });
      await sleep(CHUNK_PAUSE_MS);
    }
  };

  const recoveries: string[] = [];
  /** Notes how long after `startedAt` the first prediction made since then appeared. */
  const noteRecovery = (label: string, startedAt: number) => {
    const first = watcher.seen.find((s) => s.predictedAt >= startedAt);
    const line = `${label}: first prediction ${first ? `${first.predictedAt - startedAt} ms` : 'not seen'} after the process started`;
    recoveries.push(line);
    t.diagnostic(line);
  };

  try {
    const record: ModelRegistryRecord = championRecord(name, 'eos-model', 1, trainTestModel(MODEL_FEATURES));
    await publishModel(stack, name, record);
    const challengerRecord: ModelRegistryRecord = { ...championRecord(name, 'eos-model', 2, trainTestModel(MODEL_FEATURES, 13)), stage: 'challenger' };
    if (challenger) await publishModel(stack, name, challengerRecord);

    // Each incarnation gets its share of the stream as it starts (with what the previous one left, a backlog: starting
    // takes seconds), and is SIGKILLed the moment its first predictions show: mid-stream, while it works through the
    // backlog with batches in flight (a big batch's predictions go out in several sends, then its offsets are committed).
    const share = Math.floor(VECTORS / (KILLS + 1));
    for (let kill = 1; kill <= KILLS; kill++) {
      const label = kill === 1 ? 'inference#1' : `inference#${kill} (restart after kill ${kill - 1})`;
      const startedAt = Date.now();
      const p = startServiceProcess(label, 'inference', env);
      processes.push(p);
      const publishing = publish((kill - 1) * share, kill * share);
      await watcher.firstSince(startedAt, 120_000, `a first prediction from ${label}\n${why()}`);
      p.signal('SIGKILL');
      noteRecovery(label, startedAt);
      await p.exited;
      await publishing;
    }
    const finalStart = Date.now();
    processes.push(startServiceProcess('inference#final', 'inference', env));
    await publish(KILLS * share, VECTORS);
    await watcher.firstSince(finalStart, 120_000, `a first prediction from inference#final\n${why()}`);
    noteRecovery(`inference#final (restart after kill ${KILLS})`, finalStart);

    // Every event predicted at least once (or the wait runs out), then a little longer for late duplicates.
    await eventually(() => (new Set(watcher.seen.map((s) => s.eventId)).size >= VECTORS ? true : undefined),
      `a prediction for each of the ${VECTORS} events (have ${new Set(watcher.seen.map((s) => s.eventId)).size})\n${why()}`, 120_000).catch(() => undefined);
    await sleep(2000);

    for (const line of recoveries) console.log(line);
    const check = async (topic: string, model: ModelRegistryRecord, role: string) => {
      if (topic !== ctx.topics.predictions) {
        await eventually(async () => (new Set((await readAll<PredictionRecord>(stack.kafka, stack.serde, topic)).map((r) => r.value.event_id)).size >= VECTORS ? true : undefined),
          `a shadow prediction for each of the ${VECTORS} events\n${why()}`, 60_000).catch(() => undefined);
      }
      const predictions = await readAll<PredictionRecord>(stack.kafka, stack.serde, topic);
      const perEvent = new Map<string, PredictionRecord[]>();
      for (const { value } of predictions) {
        if (!perEvent.has(value.event_id)) perEvent.set(value.event_id, []);
        perEvent.get(value.event_id)!.push(value);
      }
      const duplicated = [...perEvent.values()].filter((ps) => ps.length > 1);
      const duplicates = duplicated.reduce((n, ps) => n + ps.length - 1, 0);
      const missing = vectors.filter((v) => !perEvent.has(v.event_id)).length;
      const unknown = [...perEvent.keys()].filter((id) => !id.startsWith(`${name}-`)).length;
      const summary = `${predictions.length} predictions (read_committed) for ${VECTORS} events: ${perEvent.size} distinct, ` +
        `${duplicates} duplicates over ${duplicated.length} events, ${missing} missing, ${unknown} for unknown events`;
      t.diagnostic(summary);
      console.log(summary);

      // Scores as an uninterrupted run computes them: the same model's ONNX bytes on the same vectors, in-process.
      const expected = await referenceScores(model, vectors.map((v) => v.values));
      const expectedById = new Map(vectors.map((v, i) => [v.event_id, expected[i]]));
      let differing = 0;
      let example = '';
      for (const { value: p } of predictions) {
        const want = expectedById.get(p.event_id);
        if (want === undefined || Math.abs(p.score - want) <= 1e-6) continue;
        differing++;
        example ||= `${p.event_id}: served ${p.score}, uninterrupted ${want}`;
      }

      assert.equal(unknown, 0, `no prediction for an event that was never sent; ${summary}`);
      assert.equal(duplicates + missing, 0, `exactly one prediction per event id; ${summary}\n` +
        `e.g. duplicated: ${duplicated.slice(0, 3).map((ps) => `${ps[0].event_id} ×${ps.length}`).join(', ')}\n${why()}`);
      assert.equal(differing, 0, `scores equal to an uninterrupted run within 1e-6; ${differing} differ, first: ${example}`);
      assert.equal(predictions.length, VECTORS);

      const roles = new Set(predictions.map(({ value: p }) => `${p.role} v${p.model_version}`));
      assert.deepEqual([...roles], [`${role} v${model.model_version}`], `${topic}: every prediction by the ${role}`);
    };
    await check(ctx.topics.predictions, record, 'champion');
    if (challenger) await check(ctx.topics.shadow, challengerRecord, 'challenger');
    else assert.equal((await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.shadow)).length, 0, 'no shadow predictions without a challenger');
  } finally {
    await producer.disconnect().catch(() => undefined);
    await watcher.stop().catch(() => undefined);
    for (const p of processes) p.signal('SIGTERM');
    await Promise.all(processes.map((p) => Promise.race([p.exited, sleep(10_000)])));
    for (const p of processes) p.signal('SIGKILL');
    await stack.close();
  }
}
