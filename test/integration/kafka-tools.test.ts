// Kafka's own command-line tools, as deploy/local/kafka.sh fetches them with the broker (the kafka-tools jar of the same
// version) and deploy/local/bin/ names them, run against the test's broker the way Kafka people use them: a topic
// created and listed, records produced and consumed with a group, the group's offsets and lag described.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { brokersOrSkip, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const BIN = fileURLToPath(new URL('../../deploy/local/bin/', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../deploy/local/kafka.sh', import.meta.url));

function run(tool: string, args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(`${BIN}${tool}`, args, { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('kafka-topics, kafka-console-producer/consumer, kafka-consumer-groups and kafka-get-offsets run against the broker', {
  skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 300_000,
}, () => {
  const bootstrap = brokers![0];
  const topic = uniqueName('tools');
  const group = uniqueName('tools-group');

  const created = run('kafka-topics', ['--bootstrap-server', bootstrap, '--create', '--topic', topic, '--partitions', '2']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`Created topic ${topic}\\.`));
  const listed = run('kafka-topics', ['--bootstrap-server', bootstrap, '--list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(listed.stdout.split('\n').includes(topic), listed.stdout);
  const described = run('kafka-topics', ['--bootstrap-server', bootstrap, '--describe', '--topic', topic]);
  assert.match(described.stdout, /PartitionCount: 2/);

  const produced = run('kafka-console-producer', ['--bootstrap-server', bootstrap, '--topic', topic, '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=:'],
    'card-1:first\ncard-1:second\ncard-2:third\n');
  assert.equal(produced.code, 0, produced.stderr);

  const consumed = run('kafka-console-consumer', ['--bootstrap-server', bootstrap, '--topic', topic, '--from-beginning', '--max-messages', '3', '--group', group,
    '--formatter-property', 'print.key=true', '--formatter-property', 'key.separator=:', '--timeout-ms', '60000']);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split('\n').sort(), ['card-1:first', 'card-1:second', 'card-2:third']);
  assert.match(consumed.stderr, /Processed a total of 3 messages/);

  const groups = run('kafka-consumer-groups', ['--bootstrap-server', bootstrap, '--describe', '--group', group]);
  assert.equal(groups.code, 0, groups.stderr);
  // The console consumer commits what it read: both partitions at their end, lag 0.
  const rows = groups.stdout.split('\n').filter((l) => l.startsWith(group)).map((l) => l.trim().split(/\s+/));
  assert.equal(rows.length, 2, groups.stdout);
  assert.deepEqual(rows.map((r) => r[5]), ['0', '0'], groups.stdout);
  assert.equal(rows.reduce((n, r) => n + Number(r[3]), 0), 3, groups.stdout);

  const offsets = run('kafka-get-offsets', ['--bootstrap-server', bootstrap, '--topic', topic]);
  assert.equal(offsets.code, 0, offsets.stderr);
  assert.equal(offsets.stdout.trim().split('\n').reduce((n, l) => n + Number(l.split(':')[2]), 0), 3, offsets.stdout);

  const unknown = spawnSync('bash', [SCRIPT, 'tool', 'kafka-nope'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown tool "kafka-nope": expected kafka-topics, /);
});
