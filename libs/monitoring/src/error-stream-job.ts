// The change detectors over each model's error stream: its own labelled predictions, once settled, as 0/1 errors.
import { randomUUID } from 'node:crypto';
import { insertRows, loadLabelledPredictions, TABLES, type LabelledPrediction } from '@streamloop/clickhouse';
import type { MonitoringSpec } from '@streamloop/config';
import type { AlertRecord, ModelRole } from '@streamloop/contracts';
import { ErrorStreamMonitor, type AlertGate } from '@streamloop/drift';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { MonitoringDeps } from './deps';
import { ERROR_FEATURE, type ErrorStreamDetection, type ErrorStreamReport, type ModelErrorStream } from './drift-report';
import { judgeLabelDelay, loadLabelDelays, observeLabelDelays, type LabelDelayStatus } from './label-delay';

export interface ErrorStreamRun {
  pipeline: string;
  detectors: MonitoringSpec['detectors'];
  /** The champion: its stream is the report's top level (every model's stream is fed and judged). */
  model: ModelRegistryRecord;
  /** The newest event time in the features table. */
  latest: number;
  computedAt: number;
  gate: AlertGate;
  /**
   * The newest event time of a model version's training data (its registry record's data_window_end), if known: its
   * predictions up to then are in-sample, so they are left out of its stream — a model looks better on the events it
   * was fitted on, and the end of its training data would read as a change.
   */
  trainedUntil?(model: { model_name: string; model_version: number }): number | undefined;
}

interface ModelStream {
  model_name: string;
  model_version: number;
  role: ModelRole;
  monitor: ErrorStreamMonitor;
}

/** One stream per model name, version and role: a version's predictions as a challenger and as the champion are two streams. */
const streamKey = (m: { model_name: string; model_version: number; role: ModelRole }) => JSON.stringify([m.model_name, m.model_version, m.role]);

/**
 * One pipeline's error streams, kept between runs: one per model (name, version and role) that made predictions,
 * each fed only that model's own labelled predictions of events after its training data, so that a new champion starts its own detectors, an earlier
 * champion's late-labelled predictions stay in its own stream, and a challenger (shadow or split) has its own. Each run
 * feeds the newly settled labelled predictions (event time older than the newest minus monitoring.detectors.label_delay,
 * so late labels have had time to arrive) to each model's ADWIN, Page-Hinkley and DDM in event-time order, records
 * each detection in drift_metrics (with the model's name, version and role) and alerts on it once (the gate remembers
 * detections already alerted per model, also across restarts). A prediction whose label comes later than that is not
 * in the stream. Each run also measures the latest labels' delay and warns (log, report) when label_delay is far
 * from it, since a wrong value only shows as detectors that see little or see it late.
 */
export class ErrorStreamJob {
  /** Every model's stream, all fed up to `cursor` (event time, exclusive). */
  private state: { cursor: number; streams: Map<string, ModelStream> } | undefined;
  /** The kind of label-delay warning last logged: logged again only when it changes (it is in every report). */
  private loggedLabelDelayWarning: 'too_long' | 'too_short' | undefined;

  /** Undefined when every detector is turned off. */
  async run(deps: MonitoringDeps, run: ErrorStreamRun): Promise<ErrorStreamReport | undefined> {
    const { detectors, model, pipeline, computedAt } = run;
    if (!detectors.adwin && !detectors.pageHinkley && !detectors.ddm) return undefined;
    const state = (this.state ??= { cursor: 0, streams: new Map() });
    const settled = run.latest + 1 - detectors.labelDelayMs;
    const detections = new Map<string, ErrorStreamDetection[]>();
    if (settled > state.cursor) {
      const rows = await loadLabelledPredictions(deps.clickhouse, { pipeline, from: state.cursor, to: settled, byModel: true });
      const byModel = new Map<string, LabelledPrediction[]>();
      for (const r of rows) {
        const trainedUntil = run.trainedUntil?.(r);
        if (trainedUntil !== undefined && r.event_time <= trainedUntil) continue;
        const key = streamKey(r);
        let list = byModel.get(key);
        if (!list) byModel.set(key, (list = []));
        list.push(r);
      }
      for (const [key, list] of byModel) {
        const { model_name, model_version, role } = list[0];
        const stream: ModelStream = state.streams.get(key) ?? { model_name, model_version, role, monitor: new ErrorStreamMonitor(detectors) };
        state.streams.set(key, stream);
        const start = stream.monitor.count;
        const found: ErrorStreamDetection[] = stream.monitor.feed(list.map((r) => (r.label === r.predicted_label ? 0 : 1)))
          .map((d) => ({ detector: d.detector, event_time: list[d.index - start].event_time, recent_error_rate: d.recentErrorRate }));
        if (found.length > 0) detections.set(key, found);
      }
      state.cursor = settled;
    }
    const streams = [...state.streams.values()].sort((a, b) => a.model_name.localeCompare(b.model_name) || a.model_version - b.model_version || a.role.localeCompare(b.role));
    const reports: ModelErrorStream[] = streams.map((m) => ({
      model_name: m.model_name, model_version: m.model_version, role: m.role, fed: m.monitor.count,
      recent_error_rate: m.monitor.recentErrorRate, detections: detections.get(streamKey(m)) ?? [],
    }));
    for (const m of reports) {
      if (Number.isFinite(m.recent_error_rate)) deps.modelMetric?.({ pipeline, model: m.model_name, version: m.model_version, role: m.role, metric: 'recent_error_rate' }, m.recent_error_rate);
    }
    const champion = reports.find((m) => m.role === 'champion' && m.model_name === model.model_name && m.model_version === model.model_version);
    const recent = champion?.recent_error_rate ?? Number.NaN;
    if (Number.isFinite(recent)) deps.gauge?.({ pipeline, feature: ERROR_FEATURE, statistic: 'recent_error_rate' }, recent);

    const detected = reports.flatMap((m) => m.detections.map((d) => ({ m, d })));
    if (detected.length > 0) {
      // The streams start over after a restart: a detection already alerted on is recorded again, not alerted again.
      const alerting = detected.filter(({ m, d }) => run.gate.observeDetection(
        { pipeline, kind: 'performance', feature: ERROR_FEATURE, statistic: d.detector, modelName: m.model_name, modelVersion: m.model_version, modelRole: m.role }, d.event_time,
      ));
      await insertRows(deps.clickhouse, TABLES.drift_metrics, detected.map(({ m, d }) => ({
        pipeline, model_name: m.model_name, model_version: m.model_version, role: m.role, computed_at: computedAt,
        window_start: d.event_time, window_end: d.event_time + 1, feature: ERROR_FEATURE, statistic: d.detector,
        value: d.recent_error_rate, threshold: Number.NaN, drifted: 1,
      })));
      // A detector has no threshold on the value: the alert's threshold is null (JSON has no NaN) and its value the recent error rate.
      await deps.sendAlerts(alerting.map(({ m, d }): AlertRecord => ({
        alert_id: randomUUID(), pipeline, kind: 'performance', feature: ERROR_FEATURE, statistic: d.detector, value: d.recent_error_rate,
        threshold: null, window_start: d.event_time, window_end: d.event_time + 1, model_name: m.model_name,
        model_version: m.model_version, model_role: m.role, created_at: computedAt,
      })));
      for (const m of reports.filter((x) => x.detections.length > 0)) {
        deps.logger.info({ pipeline, model: m.model_name, version: m.model_version, role: m.role, detections: m.detections }, 'change detected in the error stream');
      }
    }
    const labelDelay = await this.labelDelay(deps, pipeline, detectors.labelDelayMs);
    return { fed: champion?.fed ?? 0, recent_error_rate: recent, detections: champion?.detections ?? [], label_delay: labelDelay, models: reports };
  }

  private async labelDelay(deps: MonitoringDeps, pipeline: string, configuredMs: number): Promise<LabelDelayStatus> {
    const observed = observeLabelDelays(await loadLabelDelays(deps.clickhouse, { pipeline }), configuredMs);
    const status: LabelDelayStatus = { configured_ms: configuredMs, observed, warning: judgeLabelDelay(observed, configuredMs) };
    deps.labelDelay?.(pipeline, status);
    const kind = status.warning?.kind;
    if (kind !== this.loggedLabelDelayWarning) {
      if (status.warning) deps.logger.warn({ pipeline, label_delay: status }, status.warning.message);
      else deps.logger.info({ pipeline, label_delay: status }, 'monitoring.detectors.label_delay fits the observed label delay again');
      this.loggedLabelDelayWarning = kind;
    }
    return status;
  }
}
