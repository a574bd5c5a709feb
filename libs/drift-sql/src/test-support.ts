// Shared by this lib's tests: a real embedded ClickHouse (chDB) per test file with the Streamloop tables, in a
// fresh temp dir (chDB binds one directory per process; node --test runs each file in its own process), or the
// server named by CLICKHOUSE_URL with a fresh database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { closeClickHouse, createClickHouse, migrate, type ClickHouseClient } from '@streamloop/clickhouse';

export interface TestClickHouse {
  client: ClickHouseClient;
  database: string;
  close(): Promise<void>;
}

export async function openMigratedClickHouse(): Promise<TestClickHouse> {
  const database = `driftsql_${randomBytes(4).toString('hex')}`;
  const url = process.env.CLICKHOUSE_URL;
  const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'streamloop-drift-sql-'));
  const client = await createClickHouse({ url, dataDir, database });
  await migrate(client, { database });
  return {
    client,
    database,
    async close() {
      if (url) await client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
      await closeClickHouse(client);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The agreement the SQL and TypeScript paths promise: within 1e-6 (relative above 1); NaN only matches NaN. */
export function agree(actual: number | undefined, expected: number, what: string, tol = 1e-6): void {
  assert.ok(actual !== undefined, `${what}: the SQL path gave no value (TypeScript: ${expected})`);
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: SQL ${actual}, TypeScript NaN`);
    return;
  }
  const diff = Math.abs(actual - expected);
  assert.ok(diff <= tol * Math.max(1, Math.abs(expected)), `${what}: SQL ${actual}, TypeScript ${expected} (diff ${diff})`);
}
