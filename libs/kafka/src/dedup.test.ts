import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DedupWindow } from './dedup';
import { deadLetter, deadLetterHeaders } from './dlq';

test('DedupWindow recognises a repeated id within the span and forgets it after', () => {
  const w = new DedupWindow(1000);
  assert.equal(w.firstSighting('a', 0), true);
  assert.equal(w.firstSighting('a', 500), false);
  assert.equal(w.firstSighting('b', 700), true);
  assert.equal(w.firstSighting('a', 1601), true, 'a expired after the span');
  assert.equal(w.size, 2);
});

test('DedupWindow stays within its entry bound', () => {
  const w = new DedupWindow(1e9, 100);
  for (let i = 0; i < 1000; i++) w.firstSighting(String(i), i);
  assert.ok(w.size <= 101);
});

test('dead letters carry Kafka Connect error-context headers', () => {
  const err = new TypeError('field amount: expected double, got "x"');
  const letter = deadLetter('fraud', 'ingestion.validate', err, { topic: 'fraud.events.raw', partition: 2, offset: '41', value: Buffer.from([1]) });
  const h = deadLetterHeaders(letter);
  assert.equal(h['__connect.errors.topic'], 'fraud.events.raw');
  assert.equal(h['__connect.errors.partition'], '2');
  assert.equal(h['__connect.errors.offset'], '41');
  assert.equal(h['__connect.errors.exception.class.name'], 'TypeError');
  assert.equal(letter.source_offset, 41);
});
