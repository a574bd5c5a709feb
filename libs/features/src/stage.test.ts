// The feature-stage processor without a broker: two stages chained by hand, the changelog written per batch and
// restored, late events by policy, failures dead-lettered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FeaturePartialRecord, FeatureVectorRecord } from '@streamloop/contracts';
import { featureStages } from './computer';
import { LateEventError, openStageState, processStage, stageOfInput, type StageInput, type StageSink } from './stage';
import { topicsOf, twoStageSpec } from './test-support';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

interface Collected {
  vectors: Array<{ key: string; value: FeatureVectorRecord; record: number }>;
  partials: Array<{ key: string; value: FeaturePartialRecord; record: number; field: string }>;
  dead: Array<{ record: number; error: unknown }>;
  late: string[];
}

function collector(): { sink: StageSink<number>; out: Collected } {
  const out: Collected = { vectors: [], partials: [], dead: [], late: [] };
  return {
    out,
    sink: {
      deadLetter: (record, error) => void out.dead.push({ record, error }),
      repartition: (key, value, record, field) => void out.partials.push({ key, value, record, field }),
      vector: (key, value, record) => void out.vectors.push({ key, value, record }),
      late: (policy) => void out.late.push(policy),
    },
  };
}

const event = (i: number, card: string, merchant: string, ts = T0 + i * 1000) => ({ id: `e${i}`, ts, card, merchant });
const input = (i: number, e: Record<string, unknown>, partial: Record<string, number> = {}): StageInput<number> => ({ record: i, event: e, eventBytes: Buffer.from(`bytes-${i}`), partial });

test('two stages: the first passes card aggregates on keyed by merchant, the last writes the vector', () => {
  const spec = twoStageSpec();
  const [first, second] = featureStages(spec);
  const s1 = openStageState(spec, first);
  const s2 = openStageState(spec, second);
  const a = collector();
  const events = [event(0, 'c1', 'm1'), event(1, 'c1', 'm1'), event(2, 'c2', 'm1')];
  processStage(s1, events.map((e, i) => input(i, e)), a.sink);
  assert.deepEqual(a.out.vectors, []);
  assert.deepEqual(a.out.partials.map((p) => [p.key, p.field, p.value.aggregates.card_n1h, p.value.event.toString()]), [
    ['m1', 'merchant', 0, 'bytes-0'], ['m1', 'merchant', 1, 'bytes-1'], ['m1', 'merchant', 0, 'bytes-2'],
  ]);
  const b = collector();
  processStage(s2, a.out.partials.map((p) => input(p.record, events[p.record], p.value.aggregates)), b.sink, () => 42);
  assert.deepEqual(b.out.vectors.map((v) => [v.key, v.value.values.card_n1h, v.value.values.merchant_n1h]), [['c1', 0, 0], ['c1', 1, 1], ['c2', 0, 2]]);
  assert.deepEqual(b.out.vectors[0].value, { event_id: 'e0', pipeline: 't', entity_key: 'c1', event_time: T0, feature_spec_version: 'v1', values: { card_n1h: 0, merchant_n1h: 0 }, computed_at: 42 });
});

test('the changelog holds each touched entity once per batch; a state restored from it continues exactly', () => {
  const spec = twoStageSpec();
  const [first] = featureStages(spec);
  const state = openStageState(spec, first);
  processStage(state, [input(0, event(0, 'c1', 'm1')), input(1, event(1, 'c1', 'm2')), input(2, event(2, 'c2', 'm1'))], collector().sink);
  const changes = state.changes();
  assert.deepEqual(changes.map((c) => c.key).sort(), ['card=c1', 'card=c2']);
  assert.deepEqual(state.changes(), [], 'nothing changed since');
  const restored = openStageState(spec, first);
  for (const c of changes) restored.restore(c.key, c.value);
  // Another stage's key is not this stage's state.
  restored.restore('merchant=m1', Buffer.from([1, 2, 3]));
  assert.equal(restored.refused, 1);
  const a = collector();
  const b = collector();
  processStage(state, [input(3, event(3, 'c1', 'm1'))], a.sink);
  processStage(restored, [input(3, event(3, 'c1', 'm1'))], b.sink);
  assert.deepEqual(b.out.partials[0].value.aggregates, a.out.partials[0].value.aggregates);
  assert.equal(b.out.partials[0].value.aggregates.card_n1h, 2);
});

test('late events: applied without allowed lateness; dropped or dead-lettered with it', () => {
  for (const [options, expected] of [
    [{}, { vectors: 3, dead: 0, late: ['applied'] }],
    [{ allowedLatenessMs: 60_000 }, { vectors: 2, dead: 0, late: ['drop'] }],
    [{ allowedLatenessMs: 60_000, lateEvents: 'dead_letter' as const }, { vectors: 2, dead: 1, late: ['dead_letter'] }],
  ] as const) {
    const spec = twoStageSpec({ ...options, partitions: 1 });
    spec.features.aggregates = spec.features.aggregates.filter((a) => a.entity === 'card');
    const [only] = featureStages(spec);
    assert.equal(only.last, true);
    const c = collector();
    // Two hours back: older than the allowed lateness, and than the 1h window.
    processStage(openStageState(spec, only), [input(0, event(0, 'c1', 'm')), input(1, event(1, 'c1', 'm', T0 + 3 * 3_600_000)), input(2, event(2, 'c1', 'm', T0 + 3_600_000))], c.sink);
    assert.deepEqual({ vectors: c.out.vectors.length, dead: c.out.dead.length, late: c.out.late }, expected, JSON.stringify(options));
    if (expected.dead > 0) assert.ok(c.out.dead[0].error instanceof LateEventError);
  }
});

test('an event the computer cannot use is dead-lettered and the batch goes on', () => {
  const spec = twoStageSpec({ partitions: 1 });
  const [first] = featureStages(spec);
  const c = collector();
  processStage(openStageState(spec, first), [input(0, { id: 'bad', ts: 'yesterday', card: 'c1', merchant: 'm' }), input(1, event(1, 'c1', 'm'))], c.sink);
  assert.deepEqual(c.out.dead.map((d) => d.record), [0]);
  assert.deepEqual(c.out.partials.map((p) => p.record), [1]);
});

test('stageOfInput: the stage reading a topic; closing a state runs its close hook', () => {
  const spec = twoStageSpec();
  const topics = topicsOf(spec);
  assert.equal(stageOfInput(spec, topics, topics.events).index, 0);
  assert.equal(stageOfInput(spec, topics, topics.repartition('merchant')).field, 'merchant');
  assert.throws(() => stageOfInput(spec, topics, 'elsewhere'), /not the input of a feature stage/);
  let closed = 0;
  openStageState(spec, featureStages(spec)[0], () => closed++).close();
  assert.equal(closed, 1);
});
