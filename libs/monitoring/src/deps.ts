import type { ClickHouseClient } from '@streamloop/clickhouse';
import type { AlertRecord } from '@streamloop/contracts';
import type { Logger } from '@streamloop/observability';
import type { LabelDelayStatus } from './label-delay';

/** What the monitoring jobs need from the process. */
export interface MonitoringDeps {
  clickhouse: ClickHouseClient;
  /** Publishes alerts to the pipeline's alerts topic (called with every run's list, empty included). */
  sendAlerts(alerts: AlertRecord[]): Promise<void>;
  /** The latest value of a drift statistic (the drift-score gauge). */
  gauge?(labels: { pipeline: string; feature: string; statistic: string }, value: number): void;
  /** The observed label delay and its judgement, each run of the error stream (the label-delay gauges). */
  labelDelay?(pipeline: string, status: LabelDelayStatus): void;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Epoch milliseconds (computed_at, created_at, the alert cooldown). */
  now(): number;
}
