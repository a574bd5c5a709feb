// Property: a spec with expr transforms gives every event the same vector through the stream path (the feature
// stages, processStage) as through REST predict's (OwnedFeatureState.peek over the same stage states, read just
// before the event is processed). Random events from a seeded generator; no broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePipelineSpec } from '@streamloop/config';
import type { FeatureVectorRecord } from '@streamloop/contracts';
import { featureStages } from './computer';
import { OwnedFeatureState } from './owned-state';
import { openStageState, processStage, type FeatureStageState } from './stage';
import { trailingNumberPartitioner } from './test-support';

const SPEC = `
pipeline: exprs
events: { schema: ./event.avsc, id_field: id, time_field: ts, entity_field: card, partitions: 2 }
features:
  version: v1
  transforms:
    - { name: amount, op: passthrough, field: amount }
    - { name: vs_mean, op: expr, expr: "coalesce(amount / card_mean_24h, 1)" }
    - { name: big_online, op: expr, expr: "if(online and amount > 100, log1p(amount), -1)" }
    - { name: busy, op: expr, expr: "max(vs_mean, 0) * 2 - min(card_n1h, merchant_n1h) + (merchant_n1h >= 3) - (not online)" }
    - { name: spread, op: expr, expr: "sqrt(abs(amount - card_mean_24h)) / (1 + card_n1h)" }
    - { name: busy_per_card_event, op: ratio, numerator: busy, denominator: card_n1h }
  aggregates:
    - { name: card_n1h, entity: card, op: count, window: 1h }
    - { name: card_mean_24h, entity: card, op: mean, field: amount, window: 24h }
    - { name: merchant_n1h, entity: merchant, op: count, window: 1h }
labels: { field: y }
model: { name: m, algorithm: logistic_regression }
`;

const SCHEMA = {
  type: 'record', name: 'Payment', fields: [
    { name: 'id', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'card', type: 'string' },
    { name: 'merchant', type: 'string' },
    { name: 'amount', type: ['null', 'double'], default: null },
    { name: 'online', type: 'boolean' },
  ],
};

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEvents(seed: number, n: number): Array<Record<string, unknown>> {
  const rnd = generator(seed);
  let ts = Date.UTC(2026, 0, 5, 10, 0, 0);
  return Array.from({ length: n }, (_, i) => {
    // Mostly forward by up to 20 minutes, sometimes a few minutes back (out of order).
    ts += rnd() < 0.1 ? -Math.floor(rnd() * 300_000) : Math.floor(rnd() * 1_200_000);
    const r = rnd();
    const amount = r < 0.1 ? null : r < 0.15 ? 0 : Math.round(rnd() * 50_000) / 100;
    return { id: `e${i}`, ts, card: `card${Math.floor(rnd() * 7)}`, merchant: `m${Math.floor(rnd() * 5)}`, amount, online: rnd() < 0.4 };
  });
}

test('expr transforms: the stream path and REST predict compute the same vector for random events', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-expr-'));
  writeFileSync(join(dir, 'event.avsc'), JSON.stringify(SCHEMA));
  const spec = parsePipelineSpec(SPEC, join(dir, 'exprs.yaml'));
  const stages = featureStages(spec);
  assert.equal(stages.length, 2, 'card aggregates, then merchant aggregates behind a repartition');

  // Every input partition of every stage lives here, registered for REST predict as the features service does.
  const owned = new OwnedFeatureState(trailingNumberPartitioner);
  const states = stages.map((stage) => Array.from({ length: spec.events.partitions }, (_, p) => {
    const state = openStageState(spec, stage);
    owned.set(spec.pipeline, stage.index, p, state.computer);
    return state;
  }));
  const stateOf = (stage: number, key: unknown): FeatureStageState => states[stage][trailingNumberPartitioner(String(key), spec.events.partitions)];

  let compared = 0;
  const seen = new Map<string, number>();
  for (const seed of [1, 2, 3]) {
    for (const event of randomEvents(seed, 400)) {
      const rest = owned.peek(spec, event);
      assert.equal(rest.stateOwned, true);

      // The stream: stage 0 keyed by card passes its aggregates on, stage 1 keyed by merchant writes the vector.
      let partial: Record<string, number> | undefined;
      processStage(stateOf(0, event.card), [{ record: 0, event, eventBytes: Buffer.alloc(0), partial: {} }], {
        deadLetter: (_r, error) => assert.fail(String(error)),
        repartition: (_key, value) => void (partial = value.aggregates),
        vector: () => assert.fail('the first stage wrote a vector'),
      });
      assert.ok(partial, `event ${String(event.id)} was not passed on`);
      let vector: FeatureVectorRecord | undefined;
      processStage(stateOf(1, event.merchant), [{ record: 0, event, eventBytes: Buffer.alloc(0), partial }], {
        deadLetter: (_r, error) => assert.fail(String(error)),
        repartition: () => assert.fail('the last stage repartitioned'),
        vector: (_key, value) => void (vector = value),
      });
      assert.ok(vector, `event ${String(event.id)} got no vector`);
      // deepStrictEqual compares NaN with NaN as equal: missing is missing on both paths.
      assert.deepEqual(vector.values, rest.values, `event ${String(event.id)} of seed ${seed}`);

      // And the exprs computed what they say, from the other columns of the same vector.
      const v = vector.values;
      const quotient = v.card_mean_24h === 0 || Number.isNaN(v.card_mean_24h) ? Number.NaN : v.amount / v.card_mean_24h;
      assert.deepEqual(v.vs_mean, Number.isNaN(quotient) ? 1 : quotient);
      assert.deepEqual(v.big_online, Number.isNaN(v.amount) ? Number.NaN : event.online && v.amount > 100 ? Math.log1p(v.amount) : -1);
      assert.deepEqual(v.busy, Math.max(v.vs_mean, 0) * 2 - Math.min(v.card_n1h, v.merchant_n1h) + (v.merchant_n1h >= 3 ? 1 : 0) - (event.online ? 0 : 1));
      assert.deepEqual(v.busy_per_card_event, v.card_n1h === 0 ? Number.NaN : v.busy / v.card_n1h);
      for (const [name, x] of Object.entries(v)) if (!Number.isNaN(x)) seen.set(name, (seen.get(name) ?? 0) + 1);
      compared++;
    }
  }
  assert.equal(compared, 1200);
  // The events exercise the exprs: each column has values, not only NaN.
  for (const name of ['vs_mean', 'big_online', 'busy', 'spread', 'busy_per_card_event']) assert.ok((seen.get(name) ?? 0) > 50, `${name}: ${seen.get(name) ?? 0} values`);
});
