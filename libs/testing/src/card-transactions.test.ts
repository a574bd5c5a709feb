import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCardTransactions } from './card-transactions';

test('the card stream is reproducible for a seed and has a realistic fraud share', () => {
  const a = generateCardTransactions({ seed: 7, events: 5000 });
  const b = generateCardTransactions({ seed: 7, events: 5000 });
  assert.deepEqual(a, b);
  const share = a.filter((x) => x.label === 1).length / a.length;
  assert.ok(share > 0.01 && share < 0.12, `fraud share ${share}`);
  for (let i = 1; i < a.length; i++) assert.ok(a[i].event.event_time >= a[i - 1].event.event_time);
});

test('fraud depends on the card\'s recent history: frauds come in bursts on one card', () => {
  const stream = generateCardTransactions({ seed: 3, events: 20000 });
  const lastByCard = new Map<string, number>();
  let fraudQuick = 0, fraud = 0, normalQuick = 0, normal = 0;
  for (const { event, label } of stream) {
    const last = lastByCard.get(event.card_id);
    const quick = last !== undefined && event.event_time - last < 30 * 60_000;
    if (label === 1) { fraud++; if (quick) fraudQuick++; } else { normal++; if (quick) normalQuick++; }
    lastByCard.set(event.card_id, event.event_time);
  }
  assert.ok(fraudQuick / fraud > 3 * (normalQuick / normal), `${fraudQuick / fraud} vs ${normalQuick / normal}`);
});

test('the changes of the loop tests: a concept change keeps the fraud share, label noise flips labels, tokenized cards have no history', () => {
  const base = { seed: 5, events: 20000, compromiseRate: 0.015 };
  const share = (a: ReturnType<typeof generateCardTransactions>) => a.filter((x) => x.label === 1).length / a.length;
  const changed = generateCardTransactions({ ...base, conceptChange: { fromIndex: 10000 } });
  const plain = generateCardTransactions(base);
  assert.deepEqual(changed.slice(0, 10000), plain.slice(0, 10000), 'the same stream before the change');
  assert.ok(Math.abs(share(changed.slice(10000)) - share(changed.slice(0, 10000))) < 0.02, 'about the same fraud share');
  // After the change a fraud is a small card-present purchase in an everyday category; before, mostly large and online.
  const frauds = (a: typeof changed) => a.filter((x) => x.label === 1).map((x) => x.event);
  const onlineShare = (e: ReturnType<typeof frauds>) => e.filter((x) => x.is_online).length / e.length;
  assert.ok(onlineShare(frauds(changed.slice(0, 10000))) > 0.6 && onlineShare(frauds(changed.slice(10000))) < 0.05);
  const noisy = generateCardTransactions({ ...base, labelNoise: { fromIndex: 10000, rate: 0.3 } });
  // With fraud share p and flip rate 0.3 the positive share becomes 0.7 p + 0.3 (1 − p).
  const p = share(noisy.slice(0, 10000));
  const expected = 0.7 * p + 0.3 * (1 - p);
  assert.ok(Math.abs(share(noisy.slice(10000)) - expected) < 0.03, `positive share ${share(noisy.slice(10000))}, expected about ${expected}`);
  const tokenized = generateCardTransactions({ ...base, tokenizedCardsFrom: 10000 });
  assert.equal(new Set(tokenized.slice(10000).map((x) => x.event.card_id)).size, 10000, 'a fresh token per transaction');
  assert.deepEqual(tokenized.map((x) => x.label), plain.map((x) => x.label), 'fraud goes on as before');
});
