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
