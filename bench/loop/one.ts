// One run of `npm run bench:loop`, in a process of its own (embedded chDB binds one data directory per process; a
// fresh process per run also leaves nothing of one run's state to the next): starts the whole platform in this process
// as the demo does (`startStreamloop` with every service target, embedded chDB, the broker given), publishes the
// stream as an outside app would — Confluent wire-format Avro through the built-in registry, at a fixed rate, event
// time advancing one fixed step per event from the wall clock at the start, labels trailing a fixed number of events —
// waits until every event is served and labelled, then reads what happened from ClickHouse (served predictions joined
// with labels, the registry's records, the retraining decisions, the error-stream detections) and writes it as JSON.
// Started by bench/loop/run.ts: `node --import tsx bench/loop/one.ts '<RunConfig JSON>'`.
import 'reflect-metadata';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvroSerde, HttpRegistryClient, loadAvsc } from '@streamloop/avro';
import { loadLabelledPredictions, queryRows, TABLES } from '@streamloop/clickhouse';
import { loadSettings } from '@streamloop/config';
import { createKafka, type Message } from '@streamloop/kafka';
import type { LabelRecord } from '@streamloop/runtime';
import { MonitoringService } from '@streamloop/monitoring';
import { SERVICE_TARGETS, startStreamloop } from '../../apps/cli/src/server';
import { ENTITY_FIELD, EVENT_ID_FIELD, EVENT_TIME_FIELD, writePipelineFiles, type LoopSettings, type Strategy } from './specs';
import { LOOP_STREAMS, type StreamName } from './streams';

export interface RunConfig {
  stream: StreamName;
  /** Event index of the concept change; null for the no-change control. */
  changeAt: number | null;
  strategy: Strategy;
  events: number;
  /** Events per second the producer sends. */
  rate: number;
  /** Labels trail their events by this many events. */
  labelLag: number;
  seed: number;
  brokers: string[];
  settings: LoopSettings;
  /** How often monitoring runs its drift and error-stream jobs (STREAMLOOP_DRIFT_INTERVAL). */
  driftInterval: string;
  workDir: string;
  out: string;
}

export interface RunRecord {
  config: RunConfig;
  pipeline: string;
  /** Event time of event 0 (epoch ms) and the step per event: event i has event time t0 + round(i · stepMs). */
  t0: number;
  stepMs: number;
  /** Wall-clock seconds: platform start, producing, waiting for the last predictions. */
  seconds: { start: number; produce: number; drain: number };
  /** Served (champion-role, not shadow) predictions that have a label, by event index (predicted: the served class). */
  served: Array<{ index: number; score: number; predicted: number; label: number; version: number }>;
  /**
   * Each drift-job report as it appeared (polled every 250 ms): the event being sent then, the event at its window's
   * end (the newest event time in ClickHouse when it ran), and how many settled values the champion's error stream held.
   */
  driftReports: Array<{ atIndex: number; windowEndIndex: number; fed: number }>;
  /** Every registry record of the pipeline, in topic order. */
  modelEvents: Array<{ model_version: number; stage: string; decided_by: string; decided_at: number; decision_reason: string }>;
  retraining: Array<{ decided_at: number; trigger: string; alert_statistic: string; decision: string; reason: string; detail: string }>;
  /** Error-stream detections: detector, the model's version and role, the event index where it fired. */
  detections: Array<{ statistic: string; model_version: number; role: string; index: number }>;
  /** Events with no served, labelled prediction at the end. */
  missing: number;
}

const eventId = (i: number) => `ev-${String(i).padStart(7, '0')}`;
const indexOf = (id: string) => Number(id.slice(3));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(config: RunConfig): Promise<RunRecord> {
  const stream = LOOP_STREAMS[config.stream];
  const pipeline = `loop_${config.stream}_${config.changeAt === null ? 'ctl' : 'chg'}_${config.strategy}_${Date.now().toString(36)}`;
  mkdirSync(config.workDir, { recursive: true });
  const specFile = writePipelineFiles(config.workDir, pipeline, stream, config.strategy, config.settings);
  const events = stream.generate(config.seed, config.events, config.changeAt);

  const started = Date.now();
  const settings = loadSettings({
    ...process.env,
    // The bench measures the streams; it calls the API without tokens.
    STREAMLOOP_AUTH: 'off',
    KAFKA_BROKERS: config.brokers.join(','),
    CLICKHOUSE_DATA_DIR: join(config.workDir, 'chdb'),
    PORT: '0',
    SCHEMA_REGISTRY_PORT: '0',
    STREAMLOOP_PIPELINES: specFile,
    STREAMLOOP_DRIFT_INTERVAL: config.driftInterval,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  });
  const running = await startStreamloop(settings, [...SERVICE_TARGETS]);
  const producer = createKafka({ brokers: config.brokers, clientId: 'bench-loop-app' }).producer({ idempotent: true });
  try {
    const runtime = running.runtime!;
    const ctx = runtime.pipelines.pipeline(pipeline);
    await producer.connect();
    // The app's own copy of its schema, registered and encoded by a Confluent-style serde, as any Avro producer does.
    const eventType = loadAvsc(join(config.workDir, `${pipeline}.avsc`));
    const serde = new AvroSerde(new HttpRegistryClient(running.registryUrl!));
    const startSeconds = (Date.now() - started) / 1000;

    const stepMs = 1000 / config.rate;
    const t0 = Date.now();
    const timeOf = (i: number) => t0 + Math.round(i * stepMs);
    const indexAt = (ms: number) => Math.round((ms - t0) / stepMs);
    // How often the drift job reports and how far behind the stream it is (bench instrumentation, read-only).
    const monitoring = running.get(MonitoringService);
    const driftReports: RunRecord['driftReports'] = [];
    let lastReport: unknown;
    const poll = setInterval(() => {
      const report = monitoring.lastDriftReport(pipeline);
      if (!report || report === lastReport) return;
      lastReport = report;
      driftReports.push({ atIndex: indexAt(Date.now()), windowEndIndex: indexAt(report.window_end), fed: report.error_stream?.fed ?? 0 });
    }, 250);
    let sent = 0;
    let labelled = 0;
    const total = config.events;
    // Paced by the wall clock: at time t every event i with t0 + i · step ≤ t is due, its label `labelLag` events later.
    while (labelled < total) {
      const due = Math.floor((Date.now() - t0) / stepMs) + 1;
      const eventsDue = Math.min(total, due);
      if (eventsDue > sent) {
        const messages: Message[] = [];
        for (let i = sent; i < eventsDue; i++) {
          const value: Record<string, unknown> = { [EVENT_ID_FIELD]: eventId(i), [ENTITY_FIELD]: `s${i % 12}`, [EVENT_TIME_FIELD]: timeOf(i) };
          stream.features.forEach((f, j) => { value[f] = events[i].x[j]; });
          messages.push({ key: value[ENTITY_FIELD] as string, value: await serde.encodeValue(ctx.topics.raw, eventType, value) });
        }
        await producer.send({ topic: ctx.topics.raw, messages, acks: -1 });
        sent = eventsDue;
      }
      const labelsDue = Math.min(sent, Math.max(0, due - config.labelLag));
      if (labelsDue > labelled) {
        const messages: Message[] = [];
        for (let i = labelled; i < labelsDue; i++) {
          const record: LabelRecord = { event_id: eventId(i), label: events[i].y, label_time: timeOf(i + config.labelLag) };
          messages.push({ key: record.event_id, value: await serde.encodeValue(ctx.topics.labels, runtime.types.label, record) });
        }
        await producer.send({ topic: ctx.topics.labels, messages, acks: -1 });
        labelled = labelsDue;
      }
      await sleep(20);
    }
    const produceSeconds = (Date.now() - t0) / 1000;
    clearInterval(poll);

    // Every event served and labelled in ClickHouse (or a minute more, after which the rest count as missing).
    const ch = await runtime.clickhouseConnection.client();
    const drainStart = Date.now();
    let served: Awaited<ReturnType<typeof loadLabelledPredictions>> = [];
    for (;;) {
      served = await loadLabelledPredictions(ch, { pipeline, from: 0, to: Date.UTC(2100, 0) });
      if (served.length >= total || Date.now() - drainStart > 60_000) break;
      await sleep(1000);
    }
    // The registry's last records reach model_events through the monitoring sink.
    await sleep(2000);
    const drainSeconds = (Date.now() - drainStart) / 1000;

    const modelEvents = await queryRows<{ model_version: number; stage: string; decided_by: string; decided_at: number; decision_reason: string }>(ch,
      `SELECT model_version, toString(stage) AS stage, decided_by, toUnixTimestamp64Milli(decided_at) AS decided_at, decision_reason
       FROM ${TABLES.model_events} FINAL WHERE pipeline = {p:String} ORDER BY registry_offset`, { p: pipeline });
    const retraining = await queryRows<{ decided_at: number; trigger: string; alert_statistic: string; decision: string; reason: string; detail: string }>(ch,
      `SELECT toUnixTimestamp64Milli(decided_at) AS decided_at, trigger, alert_statistic, toString(decision) AS decision, reason, detail
       FROM ${TABLES.retraining_decisions} WHERE pipeline = {p:String} ORDER BY decided_at`, { p: pipeline });
    const detected = await queryRows<{ statistic: string; model_version: number; role: string; at: number }>(ch,
      `SELECT statistic, model_version, toString(role) AS role, toUnixTimestamp64Milli(window_start) AS at
       FROM ${TABLES.drift_metrics} WHERE pipeline = {p:String} AND feature = '__error__' ORDER BY at`, { p: pipeline });
    return {
      config,
      pipeline,
      t0,
      stepMs,
      seconds: { start: startSeconds, produce: produceSeconds, drain: drainSeconds },
      served: served.map((r) => ({ index: indexOf(r.event_id), score: r.score, predicted: r.predicted_label, label: r.label, version: r.model_version })),
      driftReports,
      modelEvents: modelEvents.map((r) => ({ ...r, model_version: Number(r.model_version), decided_at: Number(r.decided_at) })),
      retraining: retraining.map((r) => ({ ...r, decided_at: Number(r.decided_at) })),
      detections: detected.map((d) => ({ statistic: d.statistic, model_version: Number(d.model_version), role: d.role, index: indexAt(Number(d.at)) })),
      missing: total - served.length,
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await running.close().catch((e: unknown) => process.stderr.write(`error while stopping: ${String(e)}\n`));
  }
}

const config = JSON.parse(process.argv[2] ?? '') as RunConfig;
try {
  const record = await run(config);
  writeFileSync(config.out, JSON.stringify(record));
} finally {
  rmSync(join(config.workDir, 'chdb'), { recursive: true, force: true });
}
process.exit(0);
