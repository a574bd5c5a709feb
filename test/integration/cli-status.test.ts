// `streamloop status` against a real `streamloop start` on the real broker, as an operator runs it: the targets, the lag
// of each stage's consumer group, champion and challenger from the registry topic, the drift verdict and the DLQ count,
// as a table and as JSON; a process that is not there is a non-zero exit saying what to do next. The same start is a
// healthy one: its log (LOG_FILE, LOG_LEVEL=info) holds no error-level line from start to SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineSpec } from '@streamloop/config';
import type { PipelineStatus, PlatformStatus, PredictionRecord } from '@streamloop/runtime';
import { generateCardTransactions } from '@streamloop/testing';
import { freePort, runCli, startPlatform, stopProcesses } from '../support/cli-process';
import { championRecord, publishModel, trainTestModel } from '../support/models';
import { outputOf, type ServiceProcess, writeSpecFile } from '../support/processes';
import { brokersOrSkip, eventually, readAll, startStack, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();
const FEATURES = ['log_amount', 'foreign', 'is_online', 'card_txn_count_1h'];
const TARGETS = 'ingestion,features,training,inference,monitoring';

test('streamloop status shows targets, stage lag, champion and challenger, drift and DLQ; a healthy start logs no error', {
  skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 300_000,
}, async () => {
  const name = uniqueName('status');
  const specFile = writeSpecFile(name, { topics: { models: uniqueName('models') } });
  const stack = await startStack(brokers!, [loadPipelineSpec(specFile)], []);
  const ctx = stack.runtime.pipelines.pipeline(name);
  const logFile = join(mkdtempSync(join(tmpdir(), 'streamloop-log-')), 'services.log');
  const processes: ServiceProcess[] = [];
  const why = () => outputOf(processes);
  try {
    await publishModel(stack, name, championRecord(name, 'fraud-model', 1, trainTestModel(FEATURES, 7)));
    await publishModel(stack, name, { ...championRecord(name, 'fraud-model', 2, trainTestModel(FEATURES, 11)), stage: 'challenger' });
    const { service, api } = await startPlatform(stack, brokers!, specFile, TARGETS, { LOG_LEVEL: 'info', LOG_FILE: logFile, STREAMLOOP_DRIFT_INTERVAL: '2s' });
    processes.push(service);

    const events = generateCardTransactions({ seed: 5, events: 300, meanGapMs: 60_000 }).map((t) => t.event);
    const producer = stack.kafka.producer({ idempotent: true });
    await producer.connect();
    try {
      for (let i = 0; i < events.length; i += 100) {
        const messages = await Promise.all(events.slice(i, i + 100).map(async (e) => ({ key: e.card_id, value: await stack.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, e) })));
        await producer.send({ topic: ctx.topics.raw, acks: -1, messages });
      }
      await producer.send({ topic: ctx.topics.raw, acks: -1, messages: [{ key: 'bad', value: Buffer.from('not avro') }] });
    } finally {
      await producer.disconnect();
    }
    await eventually(async () => {
      const served = new Set((await readAll<PredictionRecord>(stack.kafka, stack.serde, ctx.topics.predictions)).map((r) => r.value.event_id));
      return served.size >= events.length ? true : undefined;
    }, `a prediction for each of ${events.length} events\n${why()}`, 150_000);

    let last = '';
    const status = await eventually(async () => {
      const r = await runCli(['status', '--url', api, '--json']);
      assert.equal(r.code, 0, r.stderr);
      last = r.stdout;
      const s = JSON.parse(r.stdout) as PlatformStatus;
      const p = s.pipelines.find((x) => x.pipeline === name);
      const stages = new Set(p?.stages.map((x) => x.stage));
      // Caught up: at most one transaction marker per partition left (a fused stage's offsets commit lazily).
      const caughtUp = p && ['ingestion', 'features', 'inference'].every((st) => stages.has(st))
        && p.stages.every((x) => x.fused_into !== undefined || x.lag <= x.partitions) && p.dlq.stored === 1;
      return caughtUp ? s : undefined;
    }, 'status to show every stage caught up', 90_000).catch((error: Error) => assert.fail(`${error.message}\nlast status: ${last}\n${why()}`));
    assert.deepEqual(status.targets, TARGETS.split(','));
    const p = status.pipelines.find((x) => x.pipeline === name) as PipelineStatus;
    assert.deepEqual([p.champion?.model_name, p.champion?.model_version, p.challenger?.model_version], ['fraud-model', 1, 2]);
    assert.equal(p.champion?.roc_auc, 0.9);
    const lag = (stage: string, topic: string) => p.stages.find((x) => x.stage === stage && x.topic === topic);
    assert.equal(lag('ingestion', ctx.topics.raw)?.group, `streamloop-ingestion-${ctx.topics.raw}`);
    assert.equal(lag('ingestion', ctx.topics.raw)?.lag, 0, 'the raw topic is not transactional: its group is at its end');
    assert.equal(lag('inference', ctx.topics.features)?.partitions, 3);
    assert.equal(lag('inference', ctx.topics.features)?.fused_into, 'features', 'the monolith scores inside the features transaction');
    assert.equal(lag('features', ctx.topics.events)?.fused_into, undefined);
    // One dead letter: at least one offset of the DLQ topic (its transaction's marker takes another).
    assert.ok(p.dlq.offsets >= 1, JSON.stringify(p.dlq));
    assert.ok('drift' in p, 'a process with monitoring reports its drift verdict (null before a first window)');
    assert.deepEqual(status.problems, []);

    const table = await runCli(['status', '--url', api]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`pipeline ${name}`));
    assert.match(table.stdout, /champion +fraud-model v1 \(logistic_regression, held-out ROC AUC 0\.900\)/);
    assert.match(table.stdout, /challenger +fraud-model v2/);
    assert.match(table.stdout, new RegExp(`ingestion +${ctx.topics.raw.replace(/\./g, '\\.')} +0 +3 +streamloop-ingestion-`));
    assert.match(table.stdout, /DLQ +\S+: \d+ offsets, 1 rows in ClickHouse/);
    assert.match(table.stdout, /inference .* \(runs in the features transaction; offsets commit lazily\)/);

    const gone = await runCli(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/status .*is `streamloop start` running\? set --url/);

    await stopProcesses(processes);
    assert.equal(await service.exited, 0, why());
    // A healthy start, a stream of events and a clean stop: nothing at error level or above (pino: 50 error, 60 fatal).
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { level: number; msg?: string });
    assert.ok(lines.length > 0, 'the process logged to LOG_FILE');
    const errors = lines.filter((l) => l.level >= 50);
    assert.deepEqual(errors, [], `error-level lines in the log of a healthy run:\n${errors.map((e) => JSON.stringify(e)).join('\n')}`);
  } finally {
    await stopProcesses(processes);
    await stack.close();
  }
});
