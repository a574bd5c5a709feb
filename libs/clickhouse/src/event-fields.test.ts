import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEventField } from './event-fields';
import { insertRows } from './insert';
import { migrate } from './migrate';
import { TABLES, type EventRow } from './schema';
import { openTestClickHouse, type TestClickHouse } from './test-support';

let ch: TestClickHouse;
before(async () => {
  ch = await openTestClickHouse('eventfields');
  await migrate(ch.client, { database: ch.database });
});
after(async () => {
  await ch?.close();
});

const T0 = Date.UTC(2024, 2, 1);
const event = (id: string, at: number, payload: Record<string, unknown>, ingestedAt = T0, pipeline = 'p'): EventRow =>
  ({ pipeline, event_id: id, entity_key: 'k', event_time: at, schema_id: 1, payload: JSON.stringify(payload), ingested_at: ingestedAt });

test('loadEventField: one value per event in the window, from its latest stored copy, typed as in the payload', async () => {
  await insertRows(ch.client, TABLES.events, [
    event('a', T0, { category: 'grocery', amount: 12.5, online: true }),
    event('b', T0 + 1, { category: 'travel' }),
    event('b', T0 + 1, { category: 'gaming' }, T0 + 60_000), // a later copy of b wins
    event('c', T0 + 2, { category: null }),
    event('d', T0 + 3, { amount: 1 }), // no such field: left out
    event('e', T0 + 4, { category: { nested: 1 } }),
    event('late', T0 + 10, { category: 'fuel' }), // outside the window
    event('other', T0 + 1, { category: 'fuel' }, T0, 'q'), // another pipeline
  ]);
  const got = await loadEventField(ch.client, { pipeline: 'p', field: 'category', from: T0, to: T0 + 4 });
  assert.deepEqual(Object.fromEntries([...got].sort()), { a: 'grocery', b: 'gaming', c: null, e: '{"nested":1}' });
  const amounts = await loadEventField(ch.client, { pipeline: 'p', field: 'amount', from: T0, to: T0 + 10 });
  assert.deepEqual(Object.fromEntries([...amounts].sort()), { a: 12.5, d: 1 });
  const online = await loadEventField(ch.client, { pipeline: 'p', field: 'online', from: T0, to: T0 });
  assert.deepEqual([...online], [['a', true]]);
  await assert.rejects(loadEventField(ch.client, { pipeline: 'p', field: 'x', from: 1.5, to: 2 }), /loadEventField from: expected epoch milliseconds/);
});
