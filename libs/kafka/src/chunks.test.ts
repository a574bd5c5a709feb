import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkMessages } from './chunks';

test('chunkMessages keeps order and bounds each chunk by bytes and by count', () => {
  const messages = Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(i % 7 === 0 ? 3000 : 200) }));
  const chunks = chunkMessages(messages, 64 * 1024, 300);
  assert.deepEqual(chunks.flat(), messages, 'every message once, in order');
  for (const c of chunks) {
    assert.ok(c.length <= 300);
    const bytes = c.reduce((n, m) => n + String(m.key).length + (m.value as Buffer).length + 70, 0);
    assert.ok(bytes <= 64 * 1024, `chunk of ${bytes} bytes`);
  }
  assert.ok(chunks.length > 2000 / 300);
  // A message larger than the limit travels alone.
  const big = [{ key: 'a', value: Buffer.alloc(10) }, { key: 'b', value: Buffer.alloc(100_000) }, { key: 'c', value: Buffer.alloc(10) }];
  assert.deepEqual(chunkMessages(big, 64 * 1024).map((c) => c.map((m) => m.key)), [['a'], ['b'], ['c']]);
  assert.deepEqual(chunkMessages([]), []);
});
