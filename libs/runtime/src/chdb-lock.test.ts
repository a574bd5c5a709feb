// The chDB directory lock a process running embedded chDB takes (the CLI and a service started alone), without a broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '@streamloop/config';
import { CHDB_LOCK_FILE, embeddedChdbDirOf, lockChdbDir, processIsAlive, TargetConflictError } from './chdb-lock';
import { runStandalone } from './http';
import { Runtime } from './runtime';

test('the chDB lock: holds the pid, refuses a live holder with the reason, takes over a dead one, is released', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'sl-lock-')), 'chdb');
  const file = join(dir, CHDB_LOCK_FILE);
  const lock = lockChdbDir(dir, { pid: 4242, isAlive: () => true });
  assert.equal(readFileSync(file, 'utf8').trim(), '4242');
  // Another live process on the same directory.
  assert.throws(() => lockChdbDir(dir, { pid: 5151, isAlive: (pid) => pid === 4242 }), (e) => e instanceof TargetConflictError && /in use by process 4242/.test(e.message) && e.message.includes(file));
  assert.throws(() => lockChdbDir(dir, { pid: 5151, isAlive: (pid) => pid === 4242 }), { code: 'INVALID_SETTINGS', retriable: false }, 'a platform error with a stable code');
  lock.release();
  assert.equal(existsSync(file), false);

  // A lock left by a process that is gone is taken over.
  writeFileSync(file, '999999\n');
  const taken = lockChdbDir(dir, { pid: 5151, isAlive: () => false });
  assert.equal(readFileSync(file, 'utf8').trim(), '5151');
  taken.release();
  // An unreadable lock file is taken over too.
  writeFileSync(file, 'garbage');
  lockChdbDir(dir, { pid: 6161, isAlive: () => true }).release();
  assert.equal(existsSync(file), false);
});

test('the chDB lock is shared by two starts in one process, and released by the last', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-lock-'));
  const file = join(dir, CHDB_LOCK_FILE);
  const a = lockChdbDir(dir);
  const b = lockChdbDir(dir);
  a.release();
  assert.equal(readFileSync(file, 'utf8').trim(), String(process.pid));
  b.release();
  assert.equal(existsSync(file), false);
});

test('processIsAlive: this process runs; a pid far beyond pid_max does not', () => {
  assert.equal(processIsAlive(process.pid), true);
  assert.equal(processIsAlive(2 ** 30), false);
});

test('embeddedChdbDirOf: the data directory, absolute, unless CLICKHOUSE_URL names a server', () => {
  assert.equal(embeddedChdbDirOf({ clickhouseDataDir: 'rel/chdb' }), join(process.cwd(), 'rel/chdb'));
  assert.equal(embeddedChdbDirOf({ clickhouseDataDir: '/x/chdb', clickhouseUrl: 'http://ch:8123' }), undefined);
});

test('runStandalone of a ClickHouse target refuses a chDB directory another live process holds, before touching Kafka', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-lock-'));
  writeFileSync(join(dir, CHDB_LOCK_FILE), `${process.ppid}\n`);
  const settings = loadSettings({ STREAMLOOP_PIPELINES: '', LOG_LEVEL: 'error', CLICKHOUSE_DATA_DIR: dir, KAFKA_BROKERS: '127.0.0.1:1' });
  const runtime = new Runtime(settings, []);
  class NoModule {}
  await assert.rejects(runStandalone(runtime, NoModule, 'monitoring', { usesClickHouse: true }), (e) => e instanceof TargetConflictError && e.message.includes(`in use by process ${process.ppid}`));
  assert.equal(readFileSync(join(dir, CHDB_LOCK_FILE), 'utf8').trim(), String(process.ppid), 'the holder keeps its lock');
  await runtime.close();
});
