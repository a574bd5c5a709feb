// Shared by this lib's tests: a real ClickHouse engine per test file. Embedded chDB in a fresh temp dir (chDB
// binds one directory per process, and node --test runs each file in its own process), or the server named by
// CLICKHOUSE_URL with a fresh database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createClickHouse, closeClickHouse, type ClickHouseClient } from './client';

export interface TestClickHouse {
  client: ClickHouseClient;
  database: string;
  /** Options that open another client on the same engine and database. */
  options: { url?: string; dataDir?: string; database: string };
  close(): Promise<void>;
}

export async function openTestClickHouse(prefix = 'sltest'): Promise<TestClickHouse> {
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = process.env.CLICKHOUSE_URL;
  const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'streamloop-chdb-'));
  const options = { url, dataDir, database };
  const client = await createClickHouse(options);
  return {
    client,
    database,
    options,
    async close() {
      if (url) await client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
      await closeClickHouse(client);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function count(client: ClickHouseClient, sql: string, params?: Record<string, unknown>): Promise<number> {
  const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  const [row] = (await rs.json()) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

/** Polls until check() returns true (timing-based tests stay stable on a busy machine). */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
