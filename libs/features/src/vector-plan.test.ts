import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { featureNamesOf, loadPipelineSpec } from '@streamloop/config';
import { featureColumns } from './vector-plan';
import { twoStageSpec } from './test-support';

const FRAUD = fileURLToPath(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url));

test('featureColumns: the vector in model order, transforms in the last stage, each aggregate in its field\'s stage', () => {
  const spec = loadPipelineSpec(FRAUD);
  const columns = featureColumns(spec);
  assert.deepEqual(columns.map((c) => c.name), featureNamesOf(spec.features));
  const byName = new Map(columns.map((c) => [c.name, c]));
  assert.deepEqual({ ...byName.get('category=__other__'), stage: undefined }, {
    name: 'category=__other__', type: 'one-hot column', key: 'features.transforms[4]', stage: undefined,
    computedBy: 'one_hot(merchant_category) = any other value (__other__)',
  });
  assert.equal(byName.get('card_amount_mean_24h')?.computedBy, 'mean(amount) per card_id over 24h');
  assert.equal(byName.get('card_amount_mean_24h')?.stage.index, 0);
  assert.deepEqual(byName.get('merchant_txn_count_1h')?.stage, { index: 1, field: 'merchant_id', entities: ['merchant_id'], last: true });
  // The ratio reads a card aggregate, so transforms wait for the last stage, the one that writes the vector.
  assert.equal(byName.get('amount_vs_card_mean')?.stage.index, 1);
});

test('featureColumns: one stage when every aggregate is keyed by the entity field', () => {
  const spec = twoStageSpec();
  spec.features.aggregates = spec.features.aggregates.filter((a) => a.entity === 'card');
  assert.deepEqual(featureColumns(spec).map((c) => [c.name, c.stage.index, c.stage.last]), [['card_n1h', 0, true]]);
});
