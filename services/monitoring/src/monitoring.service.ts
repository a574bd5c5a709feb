import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { insertRows, latestEventTime, loadLabelledPredictions, MODELS_SINK, PartitionSink, TABLES, type ClickHouseClient, type SourcedRow } from '@streamloop/clickhouse';
import { PlatformError } from '@streamloop/errors';
import { AlertGate, datasetDrift, ErrorStreamMonitor, type AlertDirection } from '@streamloop/drift';
import { categoricalDrift, numericDrift, performanceOverTime, type NumericDrift } from '@streamloop/drift-sql';
import { readTopicToEnd, SerialQueue, type ConsumedRecord } from '@streamloop/kafka';
import { championOf, emptyRegistry, foldRegistry, pipelineOfMessage, type ModelRegistryRecord, type RegistryMessage, type RegistryState } from '@streamloop/model-registry';
import { RUNTIME, Runtime, type AlertRecord, type PipelineContext } from '@streamloop/runtime';

const SERVICE = 'monitoring';

export interface DriftReport {
  pipeline: string;
  model_name: string;
  model_version: number;
  window_start: number;
  window_end: number;
  features: Array<{ feature: string; psi: number; drifted: boolean; ks_statistic: number; ks_p_value: number; jensen_shannon: number; wasserstein: number }>;
  /** Evidently-style dataset drift: KS p-values corrected by Benjamini-Hochberg, share of drifted features. */
  dataset?: { drift: boolean; share: number; drifted: string[] };
  /** The champion's score distribution against the previous window (drift_metrics feature '__score__'). */
  prediction?: { psi: number; drifted: boolean; ks_statistic: number; ks_p_value: number; jensen_shannon: number; wasserstein: number };
  /** The true labels (as known now) of this window's predictions against the previous window's ('__label__'). */
  label?: { chi_square: number; p_value: number; psi: number };
  /** NaN log loss when a score is not a probability. */
  performance?: { labelled: number; roc_auc: number; precision: number; recall: number; f1: number; log_loss: number };
  /** The champion's error stream (labelled predictions older than monitoring.detectors.label_delay) through ADWIN, Page-Hinkley and DDM. */
  error_stream?: {
    /** Labelled predictions fed so far (since this champion started serving). */
    fed: number;
    /** Error rate of the most recent 500 of them. */
    recent_error_rate: number;
    /** Detections raised by this run, with the event time of the prediction that raised each. */
    detections: Array<{ detector: string; event_time: number; recent_error_rate: number }>;
  };
}

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
  private readonly sinks = new Map<string, Promise<PartitionSink<Record<string, unknown>>>>();
  /** Per pipeline: the champion's error stream, fed up to `cursor` (event time, exclusive). */
  private readonly errorStreams = new Map<string, { monitor: ErrorStreamMonitor; cursor: number; model: string }>();

  private driftTimer: NodeJS.Timeout | undefined;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    // ClickHouse is migrated before the sinks start (they run once the application has bootstrapped).
    await this.runtime.clickhouse();
    const every = this.runtime.settings.driftIntervalMs;
    const timer = setInterval(() => void this.runDriftJobs(), every);
    timer.unref();
    this.driftTimer = timer;
    this.runtime.onClose(async () => clearInterval(timer));
  }

  /** The application closing stops the schedule (the runtime may outlive it, e.g. when monitoring restarts in it). */
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
    if (written > 0) this.runtime.metrics.rowsWritten.inc({ table }, written);
    return result.commitOffset;
  }

  private partitionSink(table: string): Promise<PartitionSink<Record<string, unknown>>> {
    let sink = this.sinks.get(table);
    if (!sink) {
      sink = this.runtime.clickhouse().then((ch) => new PartitionSink<Record<string, unknown>>(ch, { table, database: this.runtime.settings.clickhouseDatabase }));
      this.sinks.set(table, sink);
    }
    return sink;
  }

  /**
   * Mirrors a model version into the models table (a tombstone or unreadable record has no row) and folds the record
   * into the pipeline's registry state.
   */
  async modelSeen(message: RegistryMessage, source: ConsumedRecord): Promise<void> {
    if (message.kind === 'version') {
      // Every instance reads the registry from its start: one record per insert, tokened by its offset, is idempotent.
      const ch = await this.runtime.clickhouse();
      const m = message.record;
      const row = MODELS_SINK.toRow(m, { pipeline: m.pipeline, partition: source.partition, offset: source.offset, schemaId: 0 });
      await insertRows(ch, MODELS_SINK.table, [row], { dedupToken: `${TABLES.models}:${source.topic}-${source.partition}-${source.offset}` });
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
      gate = this.restoreAlertGate(ctx);
      void gate.catch(() => this.alertGates.delete(pipeline));
      this.alertGates.set(pipeline, gate);
    }
    return gate;
  }

  /**
   * Reads the alerts topic (read_committed) to its end and remembers each drift alert this pipeline raised: its key
   * (kind, feature, statistic, model), value and time, or a detection's event time. An unreadable record is skipped;
   * an outage throws.
   */
  private async restoreAlertGate(ctx: PipelineContext): Promise<AlertGate> {
    const pipeline = ctx.spec.pipeline;
    const gate = new AlertGate({ cooldownMs: ctx.spec.monitoring.alertCooldownMs });
    const values: Buffer[] = [];
    await readTopicToEnd(this.runtime.kafka, ctx.topics.alerts, (r) => {
      if (r.value && r.value.length > 0) values.push(r.value);
    }, { isolation: 'read_committed' });
    let restored = 0;
    for (const value of values) {
      let a: AlertRecord;
      try {
        a = (await this.runtime.serde.decode<AlertRecord>(value, this.runtime.types.alert)).value;
      } catch (error) {
        // A record that does not decode is skipped; a registry outage fails the restore (retried by the next run).
        if (error instanceof PlatformError && !error.retriable) continue;
        throw error;
      }
      if (a.pipeline !== pipeline) continue;
      const key = { pipeline, kind: a.kind, feature: a.feature, statistic: a.statistic, modelName: a.model_name, modelVersion: a.model_version };
      // Performance alerts are detections (events at an event time), not persisting conditions.
      if (a.kind === 'performance') gate.restoreDetection(key, a.window_start);
      else gate.restore({ ...key, value: a.value, at: a.created_at });
      restored++;
    }
    this.runtime.logger.info({ service: SERVICE, pipeline, restored, remembered: gate.size }, 'alert gate restored from the alerts topic');
    return gate;
  }

  private async runDriftJobs(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      try {
        await this.driftJob(ctx.spec.pipeline);
      } catch (error) {
        this.runtime.logger.warn({ service: SERVICE, pipeline: ctx.spec.pipeline, err: error }, 'drift job failed');
      }
    }
  }

  /** The latest report, if any; an unknown pipeline throws UnknownPipelineError (404 PIPELINE_NOT_FOUND). */
  lastDriftReport(pipeline: string): DriftReport | undefined {
    this.runtime.pipeline(pipeline);
    return this.lastReports.get(pipeline);
  }

  /**
   * One run of the drift job for a pipeline, computed inside ClickHouse (@streamloop/drift-sql): per feature PSI,
   * KS, Jensen–Shannon and Wasserstein-1 between the champion's reference sample and the latest event-time window;
   * the champion's score drift and the true labels' drift against the window before; live performance from the
   * labels that have arrived so far. Only per-feature summaries come back to Node.
   */
  driftJob(pipeline: string): Promise<DriftReport | undefined> {
    // One run at a time per pipeline: the schedule and a request may overlap, and the error stream must be fed once.
    let queue = this.driftQueues.get(pipeline);
    if (!queue) this.driftQueues.set(pipeline, (queue = new SerialQueue()));
    return queue.run(() => this.runDriftJob(pipeline));
  }

  private async runDriftJob(pipeline: string): Promise<DriftReport | undefined> {
    const ctx = this.runtime.pipeline(pipeline);
    const model = this.measuredModel(pipeline);
    if (!model) return undefined;
    const ch = await this.runtime.clickhouse();
    const { monitoring } = ctx.spec;
    const latest = await latestEventTime(ch, TABLES.features, pipeline);
    if (latest === undefined) return undefined;
    const windowEnd = latest + 1;
    const windowStart = windowEnd - monitoring.windowMs;
    const computedAt = Date.now();
    const report: DriftReport = { pipeline, model_name: model.model_name, model_version: model.model_version, window_start: windowStart, window_end: windowEnd, features: [] };
    const rows: Record<string, unknown>[] = [];
    const alerts: AlertRecord[] = [];
    const record = (feature: string, statistic: string, value: number, threshold = Number.NaN, drifted = false) => {
      if (!Number.isFinite(value)) return;
      this.runtime.metrics.driftScore.set({ pipeline, feature, statistic }, value);
      rows.push({
        pipeline, window_start: windowStart, window_end: windowEnd, feature, statistic, value, threshold, drifted: drifted ? 1 : 0,
        model_name: model.model_name, model_version: model.model_version, computed_at: computedAt,
      });
    };
    const gate = await this.alertGate(ctx);
    // Every judged statistic goes through the gate, crossed or not: one not crossed clears its key.
    const alert = (kind: AlertRecord['kind'], feature: string, statistic: string, value: number, threshold: number, crossed: boolean) => {
      const key = { pipeline, kind, feature, statistic, modelName: model.model_name, modelVersion: model.model_version };
      if (!gate.observe(key, { crossed, value, direction: directionOf(statistic), at: computedAt })) return;
      alerts.push({
        alert_id: randomUUID(), pipeline, kind, feature, statistic, value, threshold,
        window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version, created_at: computedAt,
      });
    };
    // Each statistic with a configured threshold: recorded with it, and alerted on when it is crossed.
    const limits = alertThresholds(monitoring);
    const judge = (kind: AlertRecord['kind'], feature: string, statistics: NumericStatistics): boolean => {
      let drifted = false;
      for (const [statistic, v] of Object.entries(statistics)) {
        const limit = limits.get(statistic);
        if (limit === undefined || !Number.isFinite(v)) {
          record(feature, statistic, v);
          continue;
        }
        const crossed = directionOf(statistic) === 'below' ? v < limit : v > limit;
        record(feature, statistic, v, limit, crossed);
        alert(kind, feature, statistic, v, limit, crossed);
        drifted ||= crossed;
      }
      return drifted;
    };

    // Missing values (absent or NaN) count in PSI's and JS's missing bin; KS and Wasserstein compare finite values.
    const reference = Object.fromEntries(model.feature_names.filter((f) => model.reference[f]?.length > 0).map((f) => [f, model.reference[f]]));
    const features = Object.keys(reference);
    const current = { kind: 'features' as const, pipeline, from: windowStart, to: windowEnd, features };
    const drift = features.length > 0 ? await numericDrift(ch, { kind: 'values', values: reference }, current, { bins: monitoring.psiBins }) : new Map<string, NumericDrift>();
    const pValues: Array<{ feature: string; pValue: number }> = [];
    for (const feature of features) {
      const d = drift.get(feature);
      // No row, or no value at all in the window: nothing to compare.
      if (!d?.psi) continue;
      const statistics = featureStatistics(d);
      const drifted = judge('feature_drift', feature, statistics);
      report.features.push({ feature, drifted, ...statistics });
      if (Number.isFinite(statistics.ks_p_value)) pValues.push({ feature, pValue: statistics.ks_p_value });
    }
    if (pValues.length > 0) {
      const { alpha, share } = monitoring.datasetDrift;
      const dataset = datasetDrift(pValues, { alpha, shareThreshold: share });
      report.dataset = { drift: dataset.drift, share: dataset.share, drifted: dataset.features.filter((f) => f.drifted).map((f) => f.feature) };
      record(DATASET_FEATURE, 'drifted_share', dataset.share, share, dataset.drift);
      alert('feature_drift', DATASET_FEATURE, 'drifted_share', dataset.share, share, dataset.drift);
    }

    // The champion's scores and the true labels: this window against the one just before it. The champion's own
    // predictions only (name and version, as the registry names it): another model's scores are not its drift.
    const champion = { role: 'champion' as const, modelName: model.model_name, modelVersion: model.model_version };
    const window = (from: number, to: number) => ({ pipeline, from, to, ...champion });
    const previous = window(windowStart - monitoring.windowMs, windowStart);
    const now = window(windowStart, windowEnd);
    const scores = (await numericDrift(ch, { kind: 'predictions', ...previous }, { kind: 'predictions', ...now }, { bins: monitoring.psiBins })).get('score');
    if (scores?.psi) {
      const statistics = featureStatistics(scores);
      const drifted = judge('prediction_drift', SCORE_FEATURE, statistics);
      report.prediction = { drifted, ...statistics };
    }
    const labels = (await categoricalDrift(ch, { kind: 'labels', ...previous }, { kind: 'labels', ...now })).get('label');
    if (labels?.chiSquare && labels.psi) {
      report.label = { chi_square: labels.chiSquare.statistic, p_value: labels.chiSquare.pValue, psi: labels.psi.value };
      record(LABEL_FEATURE, 'chi_square', labels.chiSquare.statistic);
      record(LABEL_FEATURE, 'chi_square_p_value', labels.chiSquare.pValue);
      record(LABEL_FEATURE, 'psi', labels.psi.value, monitoring.psiThreshold, labels.psi.value > monitoring.psiThreshold);
    }
    if (rows.length > 0) await insertRows(ch, TABLES.drift_metrics, rows);
    await this.runtime.send(ctx.topics.alerts, this.runtime.types.alert, alerts.map((a) => ({ key: a.feature, value: a })));

    // Live performance from the labels known so far (they arrive late: a later run of the same window sees more).
    const [perf] = await performanceOverTime(ch, { pipeline, from: windowStart, to: windowEnd, windowMs: windowEnd - windowStart, threshold: model.threshold, ...champion });
    if (perf && perf.positives > 0 && perf.positives < perf.labelled) {
      report.performance = { labelled: perf.labelled, roc_auc: perf.rocAuc, precision: perf.precision, recall: perf.recall, f1: perf.f1, log_loss: perf.logLoss };
      await insertRows(ch, TABLES.performance_metrics, Object.entries(report.performance)
        .filter(([k, value]) => k !== 'labelled' && Number.isFinite(value))
        .map(([metric, value]) => ({
          pipeline, window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version,
          metric, value, labelled_count: perf.labelled, computed_at: computedAt,
        })));
    }
    report.error_stream = await this.errorStreamJob(ch, ctx, model, latest, computedAt);
    this.lastReports.set(pipeline, report);
    return report;
  }

  /**
   * Feeds the champion's newly settled labelled predictions (event time older than the newest minus
   * monitoring.detectors.label_delay, so late labels have had time to arrive) to the change detectors, in event
   * time order, and alerts on each detection. A prediction whose label comes later than that is not in the stream.
   */
  private async errorStreamJob(ch: ClickHouseClient, ctx: PipelineContext, model: ModelRegistryRecord, latest: number, computedAt: number): Promise<DriftReport['error_stream']> {
    const { detectors } = ctx.spec.monitoring;
    if (!detectors.adwin && !detectors.pageHinkley && !detectors.ddm) return undefined;
    const pipeline = ctx.spec.pipeline;
    const modelKey = `${model.model_name}/${model.model_version}`;
    let state = this.errorStreams.get(pipeline);
    if (!state || state.model !== modelKey) {
      // A new champion's errors are a new stream.
      state = { monitor: new ErrorStreamMonitor(detectors), cursor: 0, model: modelKey };
      this.errorStreams.set(pipeline, state);
    }
    const settled = latest + 1 - detectors.labelDelayMs;
    const detections: NonNullable<DriftReport['error_stream']>['detections'] = [];
    if (settled > state.cursor) {
      const rows = await loadLabelledPredictions(ch, { pipeline, from: state.cursor, to: settled, modelName: model.model_name, modelVersion: model.model_version });
      const start = state.monitor.count;
      for (const d of state.monitor.feed(rows.map((r) => (r.label === r.predicted_label ? 0 : 1)))) {
        detections.push({ detector: d.detector, event_time: rows[d.index - start].event_time, recent_error_rate: d.recentErrorRate });
      }
      state.cursor = settled;
    }
    const recent = state.monitor.recentErrorRate;
    if (Number.isFinite(recent)) this.runtime.metrics.driftScore.set({ pipeline, feature: ERROR_FEATURE, statistic: 'recent_error_rate' }, recent);
    // The stream starts over after a restart: a detection already alerted on is recorded again, not alerted again.
    const gate = await this.alertGate(ctx);
    const alerting = detections.filter((d) => gate.observeDetection(
      { pipeline, kind: 'performance', feature: ERROR_FEATURE, statistic: d.detector, modelName: model.model_name, modelVersion: model.model_version }, d.event_time,
    ));
    if (detections.length > 0) {
      const base = { pipeline, model_name: model.model_name, model_version: model.model_version, computed_at: computedAt };
      await insertRows(ch, TABLES.drift_metrics, detections.map((d) => ({
        ...base, window_start: d.event_time, window_end: d.event_time + 1, feature: ERROR_FEATURE, statistic: d.detector,
        value: d.recent_error_rate, threshold: Number.NaN, drifted: 1,
      })));
      // A detector has no threshold on the value: the alert's threshold is null (JSON has no NaN) and its value the recent error rate.
      await this.runtime.send(ctx.topics.alerts, this.runtime.types.alert, alerting.map((d) => ({
        key: ERROR_FEATURE,
        value: {
          alert_id: randomUUID(), pipeline, kind: 'performance', feature: ERROR_FEATURE, statistic: d.detector, value: d.recent_error_rate,
          threshold: null, window_start: d.event_time, window_end: d.event_time + 1, model_name: model.model_name,
          model_version: model.model_version, created_at: computedAt,
        } satisfies AlertRecord,
      })));
      this.runtime.logger.info({ service: SERVICE, pipeline, detections }, 'change detected in the error stream');
    }
    return { fed: state.monitor.count, recent_error_rate: recent, detections };
  }
}

/** drift_metrics / gauge feature names of the non-feature series. */
const DATASET_FEATURE = '__dataset__';
const SCORE_FEATURE = '__score__';
const LABEL_FEATURE = '__label__';
const ERROR_FEATURE = '__error__';

type NumericStatistics = Omit<DriftReport['features'][number], 'feature' | 'drifted'>;

/** A p-value alerts below its threshold (smaller is worse); every other statistic above it. */
function directionOf(statistic: string): AlertDirection {
  return statistic === 'ks_p_value' ? 'below' : 'above';
}

/** Statistic → alert threshold, from the spec (PSI always; the others when set). */
function alertThresholds(monitoring: PipelineContext['spec']['monitoring']): Map<string, number> {
  const limits = new Map<string, number>([['psi', monitoring.psiThreshold]]);
  const { ksPValue, jensenShannon, wasserstein } = monitoring.thresholds;
  if (ksPValue !== null) limits.set('ks_p_value', ksPValue);
  if (jensenShannon !== null) limits.set('jensen_shannon', jensenShannon);
  if (wasserstein !== null) limits.set('wasserstein', wasserstein);
  return limits;
}

/** The per-feature statistics of a report from the SQL summary (NaN where one is undefined). */
function featureStatistics(d: NumericDrift): NumericStatistics {
  return {
    psi: d.psi?.value ?? Number.NaN,
    ks_statistic: d.ks?.statistic ?? Number.NaN,
    ks_p_value: d.ks?.pValue ?? Number.NaN,
    jensen_shannon: d.jensenShannon ?? Number.NaN,
    wasserstein: d.wasserstein ?? Number.NaN,
  };
}
