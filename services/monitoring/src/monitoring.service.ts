import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AvroSerde } from '@streamloop/avro';
import type { Settings } from '@streamloop/config';
import { insertRows, MODEL_EVENTS_SINK, MODELS_SINK, PartitionSink, type SourcedRow } from '@streamloop/clickhouse';
import type { AlertGate } from '@streamloop/drift';
import { readTopicToEnd, SerialQueue, type ConsumedRecord, type Kafka } from '@streamloop/kafka';
import { championOf, emptyRegistry, foldRegistry, pipelineOfMessage, registryKey, type ModelRegistryRecord, type RegistryMessage, type RegistryState } from '@streamloop/model-registry';
import { ErrorStreamJob, restoreAlertGate, runDriftJob, type AlertLog, type DriftReport, type ModelMetricLabels, type MonitoringDeps } from '@streamloop/monitoring-lib';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import { loadReportData, renderReportHtml, type ReportData, type ReportQuery } from '@streamloop/report';
import {
  ClickHouseConnection, KAFKA, LOGGER, PipelineRegistry, PLATFORM_TYPES, SETTINGS, SharedProducer, type AlertRecord, type PipelineContext, type PlatformTypes,
} from '@streamloop/runtime';

export type { DriftReport } from '@streamloop/monitoring-lib';

const SERVICE = 'monitoring';

/**
 * Sinks the loop's topics into ClickHouse (one insert per consumed batch, deduplicated by its
 * topic-partition-offset range) and runs the drift job in ClickHouse: feature drift between the serving model's
 * training reference and the latest event-time window, prediction and label drift, and live performance.
 */
@Injectable()
export class MonitoringService implements OnApplicationBootstrap, OnModuleDestroy {
  /** The registry topic folded, per pipeline: its champion (the rule inference serves by) is what is measured. */
  private readonly registries = new Map<string, RegistryState>();
  /**
   * Per pipeline: which persisting conditions have alerted (libs/drift AlertGate), restored from the alerts topic
   * before the pipeline's first drift run so that a restart does not alert again.
   */
  private readonly alertGates = new Map<string, Promise<AlertGate>>();
  private readonly lastReports = new Map<string, DriftReport>();
  private readonly driftQueues = new Map<string, SerialQueue>();
  /** A scheduled drift round is under way (ticks during it are skipped). */
  private scheduledRound = false;
  private readonly sinks = new Map<string, Promise<PartitionSink<Record<string, unknown>>>>();
  /** Per pipeline: its error streams (one per model version and role), kept between drift runs. */
  private readonly errorStreams = new Map<string, ErrorStreamJob>();
  /** Per pipeline: the per-model series its last drift run set (a model not measured any more loses its series). */
  private readonly modelSeries = new Map<string, ModelMetricLabels[]>();
  private readonly logger: MonitoringDeps['logger'];

  private driftTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(ClickHouseConnection) private readonly clickhouse: ClickHouseConnection,
    @Inject(SharedProducer) private readonly producer: SharedProducer,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AvroSerde) private readonly serde: AvroSerde,
    @Inject(PLATFORM_TYPES) private readonly types: PlatformTypes,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ service: SERVICE });
  }

  async onApplicationBootstrap(): Promise<void> {
    // ClickHouse is migrated before the sinks start (they run once the application has bootstrapped).
    await this.clickhouse.client();
    const timer = setInterval(() => void this.runDriftJobs(), this.settings.driftIntervalMs);
    timer.unref();
    this.driftTimer = timer;
  }

  /** The application closing stops the schedule (the platform's clients may outlive it, e.g. when monitoring restarts). */
  onModuleDestroy(): void {
    clearInterval(this.driftTimer);
  }

  /**
   * Writes one consumed batch's rows to their table, idempotently: a redelivery of offsets already attempted adds
   * no row, whatever its boundaries (libs/clickhouse PartitionSink). Returns the offset the consumer may commit.
   * A row that cannot be written belongs to its record: the insert error makes the transport narrow the batch down.
   */
  async sink(table: string, source: { topic: string; partition: number }, records: Array<SourcedRow<Record<string, unknown>>>, reassigned: boolean): Promise<bigint | undefined> {
    const sink = await this.partitionSink(table);
    // Another instance may have written this partition while it was elsewhere: read its last attempt again.
    if (reassigned) sink.forget(source);
    const result = await sink.write(source, records);
    const written = result.inserted + result.replayed;
    if (written > 0) this.metrics.rowsWritten.inc({ table }, written);
    return result.commitOffset;
  }

  private partitionSink(table: string): Promise<PartitionSink<Record<string, unknown>>> {
    let sink = this.sinks.get(table);
    if (!sink) {
      sink = this.clickhouse.client().then((ch) => new PartitionSink<Record<string, unknown>>(ch, { table, database: this.settings.clickhouseDatabase }));
      this.sinks.set(table, sink);
    }
    return sink;
  }

  /**
   * Mirrors a model version into the models table and its record into model_events (a tombstone or unreadable record
   * has no row), and folds the record
   * into the pipeline's registry state.
   */
  async modelSeen(message: RegistryMessage, source: ConsumedRecord): Promise<void> {
    if (message.kind === 'version') {
      // Every instance reads the registry from its start: one record per insert, tokened by its offset, is idempotent.
      const ch = await this.clickhouse.client();
      const m = message.record;
      const origin = { pipeline: m.pipeline, partition: source.partition, offset: source.offset, schemaId: 0 };
      for (const sink of [MODELS_SINK, MODEL_EVENTS_SINK]) {
        await insertRows(ch, sink.table, [sink.toRow(m, origin)], { dedupToken: `${sink.table}:${source.topic}-${source.partition}-${source.offset}` });
      }
    }
    const pipeline = pipelineOfMessage(message);
    if (pipeline === undefined) return;
    this.registries.set(pipeline, foldRegistry(this.registries.get(pipeline) ?? emptyRegistry(), [message]));
  }

  /** The model monitoring measures for a pipeline: the registry's champion (@streamloop/model-registry's rule). */
  measuredModel(pipeline: string): ModelRegistryRecord | undefined {
    const registry = this.registries.get(pipeline);
    return registry && championOf(registry, pipeline)?.record;
  }

  /** The pipeline's alert gate, restored once from its alerts topic; a failed restore is retried by the next run. */
  private alertGate(ctx: PipelineContext): Promise<AlertGate> {
    const pipeline = ctx.spec.pipeline;
    let gate = this.alertGates.get(pipeline);
    if (!gate) {
      gate = restoreAlertGate({ alerts: this.alertLog(ctx), logger: this.logger }, { pipeline, cooldownMs: ctx.spec.monitoring.alertCooldownMs });
      void gate.catch(() => this.alertGates.delete(pipeline));
      this.alertGates.set(pipeline, gate);
    }
    return gate;
  }

  /** The pipeline's alerts topic, read (read_committed) to its end and decoded with the platform's serde. */
  private alertLog(ctx: PipelineContext): AlertLog {
    return {
      readValues: async () => {
        const values: Buffer[] = [];
        await readTopicToEnd(this.kafka, ctx.topics.alerts, (r) => {
          if (r.value && r.value.length > 0) values.push(r.value);
        }, { isolation: 'read_committed' });
        return values;
      },
      decode: async (value) => (await this.serde.decode<AlertRecord>(value, this.types.alert)).value,
    };
  }

  private async runDriftJobs(): Promise<void> {
    // A round slower than the interval: the next tick is skipped rather than queued (queued rounds would run back to back).
    if (this.scheduledRound) return;
    this.scheduledRound = true;
    try {
      await this.runDriftRound();
    } finally {
      this.scheduledRound = false;
    }
  }

  private async runDriftRound(): Promise<void> {
    for (const ctx of this.pipelines.values()) {
      try {
        await this.driftJob(ctx.spec.pipeline);
      } catch (error) {
        this.logger.warn({ pipeline: ctx.spec.pipeline, err: error }, 'drift job failed');
      }
    }
  }

  /** The latest report, if any; an unknown pipeline throws UnknownPipelineError (404 PIPELINE_NOT_FOUND). */
  lastDriftReport(pipeline: string): DriftReport | undefined {
    this.pipelines.pipeline(pipeline);
    return this.lastReports.get(pipeline);
  }

  /**
   * One run of the drift job for a pipeline (libs/monitoring `runDriftJob`: feature, prediction and label drift,
   * live performance and the error stream's detectors, computed in ClickHouse) on its champion; undefined without a
   * champion or features.
   */
  driftJob(pipeline: string): Promise<DriftReport | undefined> {
    // One run at a time per pipeline: the schedule and a request may overlap, and the error stream must be fed once.
    let queue = this.driftQueues.get(pipeline);
    if (!queue) this.driftQueues.set(pipeline, (queue = new SerialQueue()));
    return queue.run(() => this.runDriftJob(pipeline));
  }

  private async runDriftJob(pipeline: string): Promise<DriftReport | undefined> {
    const ctx = this.pipelines.pipeline(pipeline);
    const model = this.measuredModel(pipeline);
    if (!model) return undefined;
    let errorStream = this.errorStreams.get(pipeline);
    if (!errorStream) this.errorStreams.set(pipeline, (errorStream = new ErrorStreamJob()));
    const deps: MonitoringDeps = {
      clickhouse: await this.clickhouse.client(),
      sendAlerts: (alerts) => this.producer.send(ctx.topics.alerts, this.types.alert, alerts.map((a) => ({ key: a.feature, value: a }))),
      gauge: (labels, value) => this.metrics.driftScore.set(labels, value),
      dataQualityCheck: (labels) => this.metrics.dataQualityChecks.inc(labels),
      labelDelay: (p, status) => {
        this.metrics.labelDelayConfigured.set({ pipeline: p }, status.configured_ms / 1000);
        if (status.observed) {
          this.metrics.labelDelay.set({ pipeline: p, quantile: '0.5' }, status.observed.p50_ms / 1000);
          this.metrics.labelDelay.set({ pipeline: p, quantile: '0.95' }, status.observed.p95_ms / 1000);
        }
        for (const kind of ['too_long', 'too_short'] as const) this.metrics.labelDelayWarning.set({ pipeline: p, kind }, status.warning?.kind === kind ? 1 : 0);
      },
      modelMetric: (labels, value) => {
        series.push(labels);
        this.modelGauge(labels).set(value);
      },
      logger: this.logger,
      now: Date.now,
    };
    const series: ModelMetricLabels[] = [];
    // A model's predictions of its own training events are in-sample: its error stream starts after its data window.
    const trainedUntil = (m: { model_name: string; model_version: number }) =>
      this.registries.get(pipeline)?.versions.get(registryKey({ pipeline, ...m }))?.record.data_window_end;
    const report = await runDriftJob(deps, {
      pipeline, monitoring: ctx.spec.monitoring, model, alertGate: () => this.alertGate(ctx), errorStream, dataQuality: ctx.spec.dataQuality, trainedUntil,
    });
    if (report) {
      this.lastReports.set(pipeline, report);
      const id = (l: ModelMetricLabels) => JSON.stringify([l.model, l.version, l.role, l.metric]);
      const current = new Set(series.map(id));
      for (const stale of this.modelSeries.get(pipeline) ?? []) if (!current.has(id(stale))) this.modelGauge(stale).remove();
      this.modelSeries.set(pipeline, series);
    }
    return report;
  }

  /**
   * The drift and performance report of a pipeline over a period (libs/report): its data read from ClickHouse against
   * the champion monitoring measures, as one self-contained HTML page or as the data itself. An unknown pipeline
   * throws UnknownPipelineError (404 PIPELINE_NOT_FOUND).
   */
  async report(pipeline: string, query: ReportQuery): Promise<{ contentType: string; body: string | ReportData }> {
    const ctx = this.pipelines.pipeline(pipeline);
    const data = await loadReportData(await this.clickhouse.client(), ctx.spec, {
      from: query.from, to: query.to, champion: this.measuredModel(ctx.spec.pipeline), logger: this.logger,
    });
    if (query.format === 'json') return { contentType: 'application/json; charset=utf-8', body: data };
    return { contentType: 'text/html; charset=utf-8', body: renderReportHtml(data) };
  }

  /** The gauge series of a per-model figure: performance metrics, the labelled count, the error stream's error rate. */
  private modelGauge(l: ModelMetricLabels): { set(value: number): void; remove(): void } {
    const labels = { pipeline: l.pipeline, model: l.model, version: String(l.version), role: l.role };
    const [gauge, all] = l.metric === 'labelled' ? [this.metrics.modelLabelled, labels]
      : l.metric === 'recent_error_rate' ? [this.metrics.modelErrorRate, labels]
        : [this.metrics.modelPerformance, { ...labels, metric: l.metric }];
    return { set: (value) => gauge.set(all, value), remove: () => gauge.remove(all) };
  }
}
