import { mkdtempSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AvroSerde, HttpRegistryClient } from '@streamloop/avro';
import { countRows, loadLabelledPredictions, queryRows } from '@streamloop/clickhouse';
import { loadSettings } from '@streamloop/config';
import { InferenceService } from '@streamloop/inference';
import { createKafka, type Message } from '@streamloop/kafka';
import { evaluateBinary } from '@streamloop/ml';
import { MonitoringService } from '@streamloop/monitoring';
import type { LabelRecord } from '@streamloop/runtime';
import { generateCardTransactions, startLocalKafka, type LabelledTransaction } from '@streamloop/testing';
import { SERVICE_TARGETS, startStreamloop } from './server';

export interface DemoOptions {
  eventsBeforeModel: number;
  eventsAfterModel: number;
  seed: number;
  log: (line: string) => void;
  /** Where the local broker listens when KAFKA_BROKERS is not set. */
  kafkaPort?: number;
  env?: NodeJS.ProcessEnv;
}

export interface DemoSummary {
  ok: boolean;
  text: string;
  eventsSent: number;
  validEvents: number;
  malformedSent: number;
  duplicatesSent: number;
  dlqCount: number;
  predictions: number;
  heldOutRocAuc: number;
  liveRocAuc: number;
  topPsi: Array<{ feature: string; psi: number }>;
}

const PIPELINE = 'fraud';
/** Labels trail their events by this many events: ground truth arrives late. */
const LABEL_LAG = 250;

/**
 * The whole loop on the embedded defaults: a local broker, the registry, embedded ClickHouse and every
 * service in this process; a producer app publishes Avro card transactions (and, late, their labels),
 * the first model is trained once enough labels exist, predictions stream out, and drift is measured
 * after the world shifts.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { log } = options;
  const started = Date.now();
  // The demo's own choices (free ports, a fresh chDB directory, a quicker drift job) apply where the environment sets
  // nothing; everything is then read through the settings schema like any start.
  const env = options.env ?? process.env;
  const kafka = startLocalKafka(options.kafkaPort ?? 39092, env);
  log(`kafka      ${kafka.brokers.join(',')}${kafka.started ? ' (local Apache Kafka, started for the demo)' : ''}`);
  mkdirSync(resolve('.streamloop'), { recursive: true });
  const dataDir = mkdtempSync(join(resolve('.streamloop'), 'demo-chdb-'));
  const settings = loadSettings({
    ...env,
    KAFKA_BROKERS: kafka.brokers.join(','),
    CLICKHOUSE_DATA_DIR: env.CLICKHOUSE_URL ? undefined : dataDir,
    PORT: env.PORT ?? '0',
    SCHEMA_REGISTRY_PORT: env.SCHEMA_REGISTRY_PORT ?? '0',
    STREAMLOOP_DRIFT_INTERVAL: env.STREAMLOOP_DRIFT_INTERVAL ?? '5s',
  });
  const running = await startStreamloop(settings, [...SERVICE_TARGETS]);
  const producerKafka = createKafka({ brokers: kafka.brokers, clientId: 'demo-payments-app' });
  const producer = producerKafka.producer({ idempotent: true });
  try {
    const runtime = running.runtime!;
    const ctx = runtime.pipelines.pipeline(PIPELINE);
    log(`services   ${running.url} (registry ${running.registryUrl}, ClickHouse ${settings.clickhouseUrl ?? `chDB in ${dataDir}`})`);
    await producer.connect();
    // The payments app is an ordinary Confluent-style producer: it registers its schema and sends wire-format Avro.
    const serde = new AvroSerde(new HttpRegistryClient(running.registryUrl!));
    const total = options.eventsBeforeModel + options.eventsAfterModel;
    const stream = generateCardTransactions({
      seed: options.seed,
      events: total,
      // About 90 s of event time between transactions: the stream spans days, the drift window (24h) a daily cycle, and
      // the training part after the aggregates' 24h warm-up (the drift reference) more than a day as well.
      meanGapMs: 90_000,
      drift: { fromIndex: options.eventsBeforeModel, amountFactor: 1.8, onlineShare: 0.55 },
    });
    const sendEvents = async (items: LabelledTransaction[]) => {
      const messages: Message[] = [];
      for (const { event } of items) {
        messages.push({ key: event.card_id, value: await serde.encodeValue(ctx.topics.raw, ctx.eventType, event) });
      }
      await producer.send({ topic: ctx.topics.raw, messages, acks: -1 });
    };
    const sendLabels = async (items: LabelledTransaction[]) => {
      const messages: Message[] = [];
      for (const { event, label } of items) {
        const record: LabelRecord = { event_id: event.transaction_id, label, label_time: event.event_time + 3_600_000 };
        messages.push({ key: event.transaction_id, value: await serde.encodeValue(ctx.topics.labels, runtime.types.label, record) });
      }
      await producer.send({ topic: ctx.topics.labels, messages, acks: -1 });
    };
    const malformed = malformedRecords();
    let labelled = 0;
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i += 200) {
        const end = Math.min(to, i + 200);
        await sendEvents(stream.slice(i, end));
        const labelUntil = Math.max(labelled, end - LABEL_LAG);
        if (labelUntil > labelled) await sendLabels(stream.slice(labelled, labelUntil));
        labelled = labelUntil;
      }
    };

    log(`phase 1    publishing ${options.eventsBeforeModel} transactions (labels trail by ${LABEL_LAG}), ${malformed.length} malformed records and 1 duplicate`);
    await publish(0, options.eventsBeforeModel);
    await producer.send({ topic: ctx.topics.raw, messages: malformed.map((value) => ({ key: 'bad', value })) });
    await sendEvents([stream[10]]); // a producer retry: the same transaction id again

    log('training   waiting for enough labels to train the first model ...');
    const inference = running.get(InferenceService);
    const model = await waitFor(() => inference.models.get(PIPELINE), 180_000, 'the first model to be trained and served');
    const m = model.record;
    log(`model      ${m.model_name} v${m.model_version} (${m.algorithm}) trained on ${m.training_rows} rows; held-out ROC AUC ${fmt(m.metrics.roc_auc)}`);

    log(`phase 2    publishing ${options.eventsAfterModel} more transactions from a shifted world (amounts x1.8, more online)`);
    await publish(options.eventsBeforeModel, total);
    await sendLabels(stream.slice(labelled));
    labelled = total;

    const ch = await runtime.clickhouseConnection.client();
    log('waiting    for every valid event to be predicted and every label stored ...');
    await waitFor(async () => {
      const [p, l, d] = await Promise.all([
        countRows(ch, 'predictions', PIPELINE),
        countRows(ch, 'labels', PIPELINE),
        countRows(ch, 'dlq', PIPELINE),
      ]);
      return p >= total && l >= total && d >= malformed.length ? true : undefined;
    }, 240_000, 'predictions for every event');

    const monitoring = running.get(MonitoringService);
    const report = await monitoring.driftJob(PIPELINE);
    const live = await loadLabelledPredictions(ch, { pipeline: PIPELINE, from: 0, to: Date.UTC(2100, 0) });
    const liveMetrics = evaluateBinary(live.map((r) => r.label), live.map((r) => r.score), m.threshold);
    const afterShift = live.filter((r) => r.event_time >= stream[options.eventsBeforeModel].event.event_time);
    const shiftMetrics = evaluateBinary(afterShift.map((r) => r.label), afterShift.map((r) => r.score), m.threshold);
    const [predictions, dlqCount, eventsStored] = await Promise.all([
      countRows(ch, 'predictions', PIPELINE),
      countRows(ch, 'dlq', PIPELINE),
      countRows(ch, 'events', PIPELINE),
    ]);
    const topPsi = (report?.features ?? []).slice().sort((a, b) => b.psi - a.psi).slice(0, 5);
    // Detections of every drift job run so far (each run reports only its own).
    const detections = await queryRows<{ statistic: string; n: string; first: string }>(ch,
      `SELECT statistic, count() AS n, min(toUnixTimestamp64Milli(window_start)) AS first FROM drift_metrics
       WHERE pipeline = {p:String} AND feature = '__error__' GROUP BY statistic ORDER BY statistic`, { p: PIPELINE });
    const shiftAt = stream[options.eventsBeforeModel].event.event_time;
    const describeDetection = (d: { statistic: string; n: string; first: string }) =>
      `${d.statistic} ×${d.n} (first ${Number(d.first) >= shiftAt ? `${((Number(d.first) - shiftAt) / 60_000).toFixed(0)} min of event time after` : 'before'} the shift)`;
    const ok = predictions === total && dlqCount === malformed.length && eventsStored === total;
    const lines = [
      '',
      '── streamloop demo summary ──────────────────────────────────────',
      `events in         ${total + malformed.length + 1} sent (${total} valid, ${malformed.length} malformed, 1 duplicate)`,
      `events accepted   ${eventsStored}`,
      `DLQ               ${dlqCount}`,
      `predictions out   ${predictions} (model ${m.model_name} v${m.model_version})`,
      `held-out ROC AUC  ${fmt(m.metrics.roc_auc)} (training time split, ${m.metrics.holdout_rows} rows)`,
      `live ROC AUC      ${fmt(liveMetrics.rocAuc)} over ${live.length} labelled predictions; ${fmt(shiftMetrics.rocAuc)} after the shift`,
      `top PSI (latest ${settings.pipelineFiles.length ? ctx.spec.monitoring.window : ''} window vs training reference):`,
      ...topPsi.map((f) => `  ${f.feature.padEnd(28)} ${fmt(f.psi)}${f.drifted ? '  drifted' : ''}`),
      `dataset drift     ${report?.dataset ? `${report.dataset.drifted.length} of ${report.features.length} features (KS, Benjamini-Hochberg at 0.05)${report.dataset.drift ? ': the dataset drifted' : ''}` : 'n/a'}`,
      `error stream      ${report?.error_stream ? `${report.error_stream.fed} settled labelled predictions; ${detections.length > 0 ? detections.map(describeDetection).join(', ') : 'no change detected'}` : 'n/a'}`,
      `took              ${((Date.now() - started) / 1000).toFixed(1)} s`,
      ok ? 'result            OK: every valid event predicted, every malformed one dead-lettered' : 'result            FAILED: counts do not match',
    ];
    return {
      ok,
      text: lines.join('\n'),
      eventsSent: total + malformed.length + 1,
      validEvents: total,
      malformedSent: malformed.length,
      duplicatesSent: 1,
      dlqCount,
      predictions,
      heldOutRocAuc: m.metrics.roc_auc,
      liveRocAuc: liveMetrics.rocAuc,
      topPsi: topPsi.map((f) => ({ feature: f.feature, psi: f.psi })),
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await running.close().catch((e: unknown) => log(`error while stopping: ${String(e)}`));
    kafka.stop();
  }
}

/** Records a careless or hostile producer could send: each must end in the DLQ, none may hurt the process. */
export function malformedRecords(): Buffer[] {
  const header = (id: number) => {
    const b = Buffer.alloc(5);
    b.writeUInt32BE(id, 1);
    return b;
  };
  return [
    Buffer.from('{"transaction_id":"json-not-avro"}'), // not the Confluent wire format
    Buffer.concat([header(987654), Buffer.from([2, 0x61])]), // a schema id the registry does not know
    Buffer.from([0, 0, 0]), // too short for the wire header
    Buffer.concat([header(1), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01])]), // a varint length far past the end
  ];
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function fmt(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(3);
}
