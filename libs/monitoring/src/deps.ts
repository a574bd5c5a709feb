import type { ClickHouseClient } from '@streamloop/clickhouse';
import type { AlertRecord, ModelRole } from '@streamloop/contracts';
import type { Logger } from '@streamloop/observability';
import type { LabelDelayStatus } from './label-delay';

/** The labels of a model's figure (deps.modelMetric). */
export interface ModelMetricLabels {
  pipeline: string;
  model: string;
  version: number;
  role: ModelRole;
  metric: string;
}

/** What the monitoring jobs need from the process. */
export interface MonitoringDeps {
  clickhouse: ClickHouseClient;
  /** Publishes alerts to the pipeline's alerts topic (called with every run's list, empty included). */
  sendAlerts(alerts: AlertRecord[]): Promise<void>;
  /** The latest value of a drift statistic (the drift-score gauge). */
  gauge?(labels: { pipeline: string; feature: string; statistic: string }, value: number): void;
  /**
   * A model's latest figure, per model name, version and role: its live performance in the window (metric roc_auc,
   * precision, recall, f1, log_loss, and labelled, its labelled count) and its error stream's recent_error_rate.
   * Called for every figure a run has (an undefined metric is not called): what a run did not set is stale.
   */
  modelMetric?(labels: ModelMetricLabels, value: number): void;
  /** The observed label delay and its judgement, each run of the error stream (the label-delay gauges). */
  labelDelay?(pipeline: string, status: LabelDelayStatus): void;
  /** Told each data-quality check's result of a window (the data-quality counter). */
  dataQualityCheck?(labels: { pipeline: string; scope: 'monitoring'; check: string; result: 'passed' | 'failed' | 'warning' }): void;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Epoch milliseconds (computed_at, created_at, the alert cooldown). */
  now(): number;
}
