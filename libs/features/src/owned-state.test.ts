// REST predict's view of the owned feature state, without a broker: owned partitions, partitions owned elsewhere,
// and registration following assignment and revocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureStages } from './computer';
import { OwnedFeatureState } from './owned-state';
import { openStageState, processStage, type StageSink } from './stage';
import { trailingNumberPartitioner, twoStageSpec } from './test-support';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const ignore: StageSink<number> = { deadLetter: () => undefined, repartition: () => undefined, vector: () => undefined };

test('peek reads each stage from the partition the event\'s key goes to, and changes nothing', () => {
  const spec = twoStageSpec({ partitions: 2 });
  const [cards, merchants] = featureStages(spec);
  const owned = new OwnedFeatureState(trailingNumberPartitioner);
  // Card partition 1 and merchant partition 0 are owned here.
  const cardState = openStageState(spec, cards);
  const merchantState = openStageState(spec, merchants);
  owned.set('t', cards.index, 1, cardState.computer);
  owned.set('t', merchants.index, 0, merchantState.computer);
  const events = [0, 1, 2].map((i) => ({ id: `e${i}`, ts: T0 + i, card: 'card1', merchant: 'm0' }));
  processStage(cardState, events.map((event, i) => ({ record: i, event, eventBytes: Buffer.alloc(0), partial: {} })), ignore);
  processStage(merchantState, events.map((event, i) => ({ record: i, event, eventBytes: Buffer.alloc(0), partial: {} })), ignore);
  assert.equal(owned.entityCount('t'), 2);

  const probe = { id: 'p', ts: T0 + 10, card: 'card1', merchant: 'm0' };
  const peeked = owned.peek(spec, probe);
  assert.deepEqual(peeked, { values: { card_n1h: 3, merchant_n1h: 3 }, stateOwned: true });
  assert.deepEqual(owned.peek(spec, probe), peeked, 'peek changes no state');

  // The card goes to partition 0, owned elsewhere: a new entity's aggregates, and not owned.
  const elsewhere = owned.peek(spec, { ...probe, card: 'card2' });
  assert.equal(elsewhere.stateOwned, false);
  assert.equal(elsewhere.values.card_n1h, 0);
  assert.equal(elsewhere.values.merchant_n1h, 3);

  // Revoked: nothing is owned any more.
  owned.set('t', cards.index, 1, undefined);
  assert.equal(owned.get('t', cards.index, 1), undefined);
  assert.equal(owned.peek(spec, probe).stateOwned, false);
  assert.equal(owned.entityCount(), 1);
});

test('a pipeline with no owned partition peeks as a new entity, not owned', () => {
  const spec = twoStageSpec();
  const owned = new OwnedFeatureState(trailingNumberPartitioner);
  assert.deepEqual(owned.peek(spec, { id: 'x', ts: T0, card: 'c', merchant: 'm' }), { values: { card_n1h: 0, merchant_n1h: 0 }, stateOwned: false });
});
