// The embedded engine's life cycle, in its own process (chDB binds one data directory per process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeClickHouse, countRows, createClickHouse, insertRows, migrate, TABLES } from './index';

test('data survives closing the last client, and then another directory may be opened', async () => {
  const first = mkdtempSync(join(tmpdir(), 'streamloop-ch-life-'));
  const second = mkdtempSync(join(tmpdir(), 'streamloop-ch-life2-'));
  try {
    const a = await createClickHouse({ dataDir: first });
    const b = await createClickHouse({ dataDir: first });
    await migrate(a, { database: 'streamloop' });
    // Two clients writing at once through the shared session, each with its own token.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => insertRows(i % 2 ? a : b, TABLES.labels, [{ pipeline: 'life', event_id: `e${i}`, label: 1, label_time: 1_700_000_000_000 + i }], { dedupToken: `t${i}` })),
    );
    assert.equal(await countRows(b, 'labels', 'life'), 10);
    await closeClickHouse(a);
    await closeClickHouse(a); // closing twice releases once
    assert.equal(await countRows(b, 'labels', 'life'), 10, 'the engine stays open while a client remains');
    await closeClickHouse(b);

    const other = await createClickHouse({ dataDir: second });
    await migrate(other, { database: 'streamloop' });
    assert.equal(await countRows(other, 'labels', 'life'), 0);
    await closeClickHouse(other);

    const again = await createClickHouse({ dataDir: first });
    assert.equal(await countRows(again, 'labels', 'life'), 10, 'rows persisted on disk');
    await closeClickHouse(again);
  } finally {
    rmSync(first, { recursive: true, force: true });
    rmSync(second, { recursive: true, force: true });
  }
});
