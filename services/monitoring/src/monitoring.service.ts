import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { insertRows, latestEventTime, latestFeatureValues, loadLabelledPredictions, TABLES, type ClickHouseClient } from '@streamloop/clickhouse';
import { datasetDrift, jensenShannonDistance, ksTest, psi, wasserstein1 } from '@streamloop/drift';
import type { ConsumedRecord } from '@streamloop/kafka';
import { evaluateBinary } from '@streamloop/ml';
import {
  followModelRegistry, isOutage, RUNTIME, Runtime, startPipelineConsumer,
  type AlertRecord, type ModelRegistryRecord, type PipelineContext,
} from '@streamloop/runtime';
import { DLQ_SINK, eventRow, FEATURES_SINK, LABELS_SINK, MODELS_SINK, PREDICTIONS_SINK, type SinkMapping } from './sink';

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
  performance?: { labelled: number; roc_auc: number; precision: number; recall: number; f1: number };
}

/**
 * Sinks the loop's topics into ClickHouse (one insert per consumed batch, deduplicated by its
 * topic-partition-offset range) and runs the drift job: PSI per feature between the serving model's
 * training reference and the latest event-time window.
 */
@Injectable()
export class MonitoringService implements OnApplicationBootstrap {
  /** The champion per pipeline, as seen on the registry topic; its reference sample anchors drift. */
  private readonly champions = new Map<string, ModelRegistryRecord>();
  private readonly alerted = new Set<string>();
  private readonly lastReports = new Map<string, DriftReport>();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    const ch = await this.runtime.clickhouse();
    for (const ctx of this.runtime.pipelines.values()) {
      const { topics, spec } = ctx;
      const p = spec.pipeline;
      await startPipelineConsumer(this.runtime, { service: SERVICE, pipeline: p, topic: topics.events, handle: (rs) => this.sinkEvents(ch, ctx, rs) });
      for (const [topic, mapping] of [
        [topics.features, FEATURES_SINK],
        [topics.predictions, PREDICTIONS_SINK],
        [topics.labels, LABELS_SINK],
        [topics.dlq, DLQ_SINK],
      ] as Array<[string, SinkMapping]>) {
        await startPipelineConsumer(this.runtime, { service: SERVICE, pipeline: p, topic, handle: (rs) => this.sink(ch, ctx, mapping, rs) });
      }
    }
    await this.followRegistry(ch);
    const every = this.runtime.settings.driftIntervalMs;
    const timer = setInterval(() => void this.runDriftJobs(), every);
    timer.unref();
    this.runtime.onClose(async () => clearInterval(timer));
  }

  private async sink(ch: ClickHouseClient, ctx: PipelineContext, mapping: SinkMapping, records: ConsumedRecord[]): Promise<void> {
    const rows: Record<string, unknown>[] = [];
    for (const r of records) {
      if (!r.value) continue;
      try {
        const { value, schemaId } = await this.runtime.serde.decode(r.value, mapping.type(this.runtime.types));
        rows.push(mapping.toRow(value, r, ctx.spec.pipeline, schemaId));
      } catch (error) {
        if (isOutage(error)) throw error;
        // Every topic sunk here is written by the platform itself; an unreadable record is logged, not looped on.
        this.runtime.logger.error({ service: SERVICE, topic: r.topic, partition: r.partition, offset: r.offset, err: error }, 'unreadable record skipped');
      }
    }
    await this.write(ch, mapping.table, rows, records);
  }

  private async sinkEvents(ch: ClickHouseClient, ctx: PipelineContext, records: ConsumedRecord[]): Promise<void> {
    const { idField, timeField, entityField } = ctx.spec.events;
    const rows: Record<string, unknown>[] = [];
    for (const r of records) {
      if (!r.value) continue;
      try {
        const { value, schemaId } = await this.runtime.serde.decode(r.value, ctx.eventType);
        rows.push(eventRow(value as Record<string, unknown>, ctx.spec.pipeline, { id: idField, time: timeField, entity: entityField }, schemaId));
      } catch (error) {
        if (isOutage(error)) throw error;
        this.runtime.logger.error({ service: SERVICE, topic: r.topic, offset: r.offset, err: error }, 'unreadable event skipped');
      }
    }
    await this.write(ch, TABLES.events, rows, records);
  }

  private async write(ch: ClickHouseClient, table: string, rows: Record<string, unknown>[], records: ConsumedRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const first = records[0];
    const last = records[records.length - 1];
    // A retried batch carries the same offsets, hence the same token, and ClickHouse drops the repeat.
    const dedupToken = `${table}:${first.topic}-${first.partition}-${first.offset}-${last.offset}`;
    await insertRows(ch, table, rows, { dedupToken });
    this.runtime.metrics.rowsWritten.inc({ table }, rows.length);
  }

  /** Mirrors model versions into the models table and keeps each pipeline's champion (and its reference). */
  private async followRegistry(ch: ClickHouseClient): Promise<void> {
    await followModelRegistry(this.runtime, SERVICE, async (m, source) => {
      await this.write(ch, TABLES.models, [MODELS_SINK.toRow(m, source, m.pipeline, 0)], [source]);
      const current = this.champions.get(m.pipeline);
      if (m.stage === 'champion' && (!current || m.model_version > current.model_version)) this.champions.set(m.pipeline, m);
    });
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

  lastDriftReport(pipeline: string): DriftReport | undefined {
    return this.lastReports.get(pipeline);
  }

  /** One run of the drift job for a pipeline: PSI per feature over the latest window, plus live performance. */
  async driftJob(pipeline: string): Promise<DriftReport | undefined> {
    const ctx = this.runtime.pipeline(pipeline);
    const model = this.champions.get(pipeline);
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
    const pValues: Array<{ feature: string; pValue: number }> = [];
    for (const feature of model.feature_names) {
      const reference = model.reference[feature];
      if (!reference || reference.length === 0) continue;
      const current = await latestFeatureValues(ch, { pipeline, feature, from: windowStart, to: windowEnd });
      if (current.length === 0) continue;
      const { value } = psi(reference, current, { bins: monitoring.psiBins });
      const drifted = value > monitoring.psiThreshold;
      // KS and Wasserstein compare observed values; missing values are PSI's and JS's concern (their own bin).
      const refObserved = reference.filter(Number.isFinite);
      const curObserved = current.filter(Number.isFinite);
      const comparable = refObserved.length > 0 && curObserved.length > 0;
      const ks = comparable ? ksTest(refObserved, curObserved) : { statistic: Number.NaN, pValue: Number.NaN };
      const statistics: Record<string, number> = {
        psi: value,
        ks_statistic: ks.statistic,
        ks_p_value: ks.pValue,
        jensen_shannon: jensenShannonDistance(reference, current, { bins: monitoring.psiBins }),
        wasserstein: comparable ? wasserstein1(refObserved, curObserved) : Number.NaN,
      };
      report.features.push({ feature, drifted, ...(statistics as Omit<DriftReport['features'][number], 'feature' | 'drifted'>) });
      if (Number.isFinite(ks.pValue)) pValues.push({ feature, pValue: ks.pValue });
      for (const [statistic, v] of Object.entries(statistics)) {
        if (!Number.isFinite(v)) continue;
        this.runtime.metrics.driftScore.set({ pipeline, feature, statistic }, v);
        const isPsi = statistic === 'psi';
        rows.push({
          pipeline, window_start: windowStart, window_end: windowEnd, feature, statistic, value: v,
          threshold: isPsi ? monitoring.psiThreshold : Number.NaN, drifted: isPsi && drifted ? 1 : 0, model_name: model.model_name,
          model_version: model.model_version, computed_at: computedAt,
        });
      }
      const alertKey = `${pipeline}/${feature}/${model.model_version}/${windowStart}`;
      if (drifted && !this.alerted.has(alertKey)) {
        this.alerted.add(alertKey);
        alerts.push({
          alert_id: randomUUID(), pipeline, kind: 'feature_drift', feature, statistic: 'psi', value,
          threshold: monitoring.psiThreshold, window_start: windowStart, window_end: windowEnd,
          model_name: model.model_name, model_version: model.model_version, created_at: computedAt,
        });
      }
    }
    if (pValues.length > 0) {
      const dataset = datasetDrift(pValues, { alpha: 0.05, shareThreshold: 0.5 });
      report.dataset = { drift: dataset.drift, share: dataset.share, drifted: dataset.features.filter((f) => f.drifted).map((f) => f.feature) };
      this.runtime.metrics.driftScore.set({ pipeline, feature: '__dataset__', statistic: 'drifted_share' }, dataset.share);
      rows.push({
        pipeline, window_start: windowStart, window_end: windowEnd, feature: '__dataset__', statistic: 'drifted_share', value: dataset.share,
        threshold: 0.5, drifted: dataset.drift ? 1 : 0, model_name: model.model_name, model_version: model.model_version, computed_at: computedAt,
      });
    }
    if (rows.length > 0) await insertRows(ch, TABLES.drift_metrics, rows);
    await this.runtime.send(ctx.topics.alerts, this.runtime.types.alert, alerts.map((a) => ({ key: a.feature, value: a })));

    const labelled = await loadLabelledPredictions(ch, { pipeline, from: windowStart, to: windowEnd });
    const classes = new Set(labelled.map((r) => r.label));
    if (classes.size === 2) {
      const m = evaluateBinary(labelled.map((r) => r.label), labelled.map((r) => r.score), model.threshold);
      report.performance = { labelled: labelled.length, roc_auc: m.rocAuc, precision: m.precision, recall: m.recall, f1: m.f1 };
      await insertRows(ch, TABLES.performance_metrics, Object.entries(report.performance)
        .filter(([k]) => k !== 'labelled')
        .map(([metric, value]) => ({
          pipeline, window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version,
          metric, value, labelled_count: labelled.length, computed_at: computedAt,
        })));
    }
    this.lastReports.set(pipeline, report);
    return report;
  }
}
