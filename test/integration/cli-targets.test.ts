// Two real `streamloop start` processes on one embedded chDB directory: the second is refused, with the reason and a
// non-zero exit, while the first keeps running, and so is a ClickHouse service started alone (services/*/src/main.ts);
// once the first has stopped the directory can be taken again, by a service started alone too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliProcess, startServiceProcess, writeSpecFile, type ServiceProcess } from '../support/processes';
import { brokersOrSkip, eventually, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('a second streamloop process on the same chDB directory exits non-zero saying why', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'streamloop-cli-')), 'chdb');
  const lockFile = join(dataDir, 'streamloop.lock');
  const env = {
    KAFKA_BROKERS: brokers!.join(','),
    STREAMLOOP_PIPELINES: writeSpecFile(uniqueName('cli')),
    CLICKHOUSE_DATA_DIR: dataDir,
    PORT: '0',
    SCHEMA_REGISTRY_PORT: '0',
    SCHEMA_REGISTRY_TOPIC: uniqueName('_schemas'),
  };
  const processes: ServiceProcess[] = [];
  try {
    const first = startCliProcess('first', ['start', '--target', 'schema-registry,training'], env);
    processes.push(first);
    await eventually(() => (first.output().includes('streamloop running targets') ? true : first.child.exitCode !== null ? fail(first) : undefined), 'the first process to start', 120_000);
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(first.child.pid), 'the lock holds the first process\'s pid');

    const second = startCliProcess('second', ['start', '--target', 'monitoring'], env);
    processes.push(second);
    const code = await second.exited;
    assert.notEqual(code, 0, second.output());
    assert.match(second.output(), new RegExp(`data directory ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${first.child.pid}`));
    assert.match(second.output(), /chDB binds one data directory per process/);
    assert.equal(first.child.exitCode, null, 'the first process still runs');

    const alone = startServiceProcess('training alone', 'training', env);
    processes.push(alone);
    assert.notEqual(await alone.exited, 0, alone.output());
    assert.match(alone.output(), new RegExp(`is in use by process ${first.child.pid}`));
    assert.equal(first.child.exitCode, null, 'the first process still runs');

    first.signal('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    assert.equal(existsSync(lockFile), false, 'a stopped process leaves no lock');

    const monitoring = startServiceProcess('monitoring alone', 'monitoring', { ...env, LOG_LEVEL: 'info' });
    processes.push(monitoring);
    await eventually(() => (existsSync(lockFile) ? true : monitoring.child.exitCode !== null ? fail(monitoring) : undefined), 'the service started alone to lock the directory', 120_000);
    assert.equal(readFileSync(lockFile, 'utf8').trim(), String(monitoring.child.pid), 'the lock holds the service\'s pid');
    await eventually(() => (monitoring.output().includes('service started') || monitoring.child.exitCode !== null ? true : undefined), 'the service to start', 120_000);
    monitoring.signal('SIGTERM');
    assert.equal(await monitoring.exited, 0, monitoring.output());
    assert.equal(existsSync(lockFile), false, 'a stopped service leaves no lock');
  } finally {
    for (const p of processes) p.signal('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
  }
});

function fail(p: ServiceProcess): never {
  throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output()}`);
}
