// The change detectors over a champion's error stream: its labelled predictions, once settled, as 0/1 errors.
import { randomUUID } from 'node:crypto';
import { insertRows, loadLabelledPredictions, TABLES } from '@streamloop/clickhouse';
import type { MonitoringSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { ErrorStreamMonitor, type AlertGate } from '@streamloop/drift';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { MonitoringDeps } from './deps';
import { ERROR_FEATURE, type ErrorStreamReport } from './drift-report';
import { judgeLabelDelay, loadLabelDelays, observeLabelDelays, type LabelDelayStatus } from './label-delay';

export interface ErrorStreamRun {
  pipeline: string;
  detectors: MonitoringSpec['detectors'];
  /** The champion whose predictions are fed: a new champion's errors are a new stream. */
  model: ModelRegistryRecord;
  /** The newest event time in the features table. */
  latest: number;
  computedAt: number;
  gate: AlertGate;
}

/**
 * One pipeline's error stream, kept between runs. Each run feeds the champion's newly settled labelled predictions
 * (event time older than the newest minus monitoring.detectors.label_delay, so late labels have had time to arrive)
 * to ADWIN, Page-Hinkley and DDM in event-time order, records each detection in drift_metrics and alerts on it once
 * (the gate remembers detections already alerted, also across restarts). A prediction whose label comes later than
 * that is not in the stream. Each run also measures the latest labels' delay and warns (log, report) when label_delay
 * is far from it, since a wrong value only shows as detectors that see little or see it late.
 */
export class ErrorStreamJob {
  /** Fed up to `cursor` (event time, exclusive) for `model`. */
  private state: { monitor: ErrorStreamMonitor; cursor: number; model: string } | undefined;
  /** The kind of label-delay warning last logged: logged again only when it changes (it is in every report). */
  private loggedLabelDelayWarning: 'too_long' | 'too_short' | undefined;

  /** Undefined when every detector is turned off. */
  async run(deps: MonitoringDeps, run: ErrorStreamRun): Promise<ErrorStreamReport | undefined> {
    const { detectors, model, pipeline, computedAt } = run;
    if (!detectors.adwin && !detectors.pageHinkley && !detectors.ddm) return undefined;
    const modelKey = `${model.model_name}/${model.model_version}`;
    let state = this.state;
    if (!state || state.model !== modelKey) {
      state = { monitor: new ErrorStreamMonitor(detectors), cursor: 0, model: modelKey };
      this.state = state;
    }
    const settled = run.latest + 1 - detectors.labelDelayMs;
    const detections: ErrorStreamReport['detections'] = [];
    if (settled > state.cursor) {
      const rows = await loadLabelledPredictions(deps.clickhouse, { pipeline, from: state.cursor, to: settled, modelName: model.model_name, modelVersion: model.model_version });
      const start = state.monitor.count;
      for (const d of state.monitor.feed(rows.map((r) => (r.label === r.predicted_label ? 0 : 1)))) {
        detections.push({ detector: d.detector, event_time: rows[d.index - start].event_time, recent_error_rate: d.recentErrorRate });
      }
      state.cursor = settled;
    }
    const recent = state.monitor.recentErrorRate;
    if (Number.isFinite(recent)) deps.gauge?.({ pipeline, feature: ERROR_FEATURE, statistic: 'recent_error_rate' }, recent);
    // The stream starts over after a restart: a detection already alerted on is recorded again, not alerted again.
    const alerting = detections.filter((d) => run.gate.observeDetection(
      { pipeline, kind: 'performance', feature: ERROR_FEATURE, statistic: d.detector, modelName: model.model_name, modelVersion: model.model_version }, d.event_time,
    ));
    if (detections.length > 0) {
      const base = { pipeline, model_name: model.model_name, model_version: model.model_version, computed_at: computedAt };
      await insertRows(deps.clickhouse, TABLES.drift_metrics, detections.map((d) => ({
        ...base, window_start: d.event_time, window_end: d.event_time + 1, feature: ERROR_FEATURE, statistic: d.detector,
        value: d.recent_error_rate, threshold: Number.NaN, drifted: 1,
      })));
      // A detector has no threshold on the value: the alert's threshold is null (JSON has no NaN) and its value the recent error rate.
      await deps.sendAlerts(alerting.map((d): AlertRecord => ({
        alert_id: randomUUID(), pipeline, kind: 'performance', feature: ERROR_FEATURE, statistic: d.detector, value: d.recent_error_rate,
        threshold: null, window_start: d.event_time, window_end: d.event_time + 1, model_name: model.model_name,
        model_version: model.model_version, created_at: computedAt,
      })));
      deps.logger.info({ pipeline, detections }, 'change detected in the error stream');
    }
    const labelDelay = await this.labelDelay(deps, pipeline, detectors.labelDelayMs);
    return { fed: state.monitor.count, recent_error_rate: recent, detections, label_delay: labelDelay };
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
