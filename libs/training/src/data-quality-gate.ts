// The data-quality gate before a training run (issue 13): the candidate window against the champion's reference.
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient, TrainingRow } from '@streamloop/clickhouse';
import { DEFAULT_DATA_QUALITY, type PipelineSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { checkWindow, describeCheck, type CheckResult, type DataQualityOutcome } from '@streamloop/data-quality';
import { PlatformError } from '@streamloop/errors';
import { championOf, type RegistryState } from '@streamloop/model-registry';
import type { Logger } from '@streamloop/observability';

/** The alert `feature` of a dataset-level check (the drift job's name for dataset-wide statistics). */
export const DATASET_ALERT_FEATURE = '__dataset__';

/** What the gate needs from the process. */
export interface DataQualityGateDeps {
  clickhouse: ClickHouseClient;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The pipeline's registry now (its champion is the reference). */
  readRegistry(): Promise<RegistryState>;
  /** Publishes alerts to the pipeline's alerts topic; absent: none are raised (logged only). */
  raiseAlerts?(alerts: AlertRecord[]): Promise<void>;
  /** Told each check's result (the data-quality counter). */
  countCheck?(labels: { pipeline: string; scope: 'training'; check: string; result: 'passed' | 'failed' | 'warning' }): void;
}

export interface FailedCheck {
  check: string;
  feature: string;
  value: number;
  limit: number;
}

/** A training run blocked by the gate (422): `details.failed` names each failed check, `details.run_id` its report. */
export class DataQualityError extends PlatformError {
  constructor(message: string, readonly failed: FailedCheck[], readonly runId: string) {
    super('DATA_QUALITY_FAILED', message, { details: { run_id: runId, failed } });
  }
}

/**
 * Checks the training dataset's window (the rows loadTrainingDataset gave, the same features ⨝ labels in ClickHouse)
 * against the champion's reference and the spec's data_quality limits; writes the report rows (passed or not); on a
 * failed blocking check raises a data_quality alert per failed check and throws DataQualityError. Skipped when
 * data_quality.enabled is false.
 */
export async function dataQualityGate(
  deps: DataQualityGateDeps,
  input: { spec: PipelineSpec; featureNames: string[]; rows: TrainingRow[]; /** Epoch ms: the run's start. */ computedAt: number },
): Promise<DataQualityOutcome | undefined> {
  const { spec, featureNames, rows, computedAt } = input;
  const limits = spec.dataQuality ?? DEFAULT_DATA_QUALITY;
  if (!limits.enabled || rows.length === 0) return undefined;
  const champion = championOf(await deps.readRegistry(), spec.pipeline)?.record;
  const runId = randomUUID();
  const from = rows[0].event_time;
  const to = rows[rows.length - 1].event_time + 1;
  const { outcome } = await checkWindow(deps.clickhouse, {
    pipeline: spec.pipeline, scope: 'training', runId, from, to, features: featureNames, limits, computedAt,
    champion: champion && { name: champion.model_name, version: champion.model_version, featureSpecVersion: champion.feature_spec_version, reference: champion.reference },
    featureSpecVersion: spec.features.version, labelledOnly: true,
  });
  for (const c of outcome.checks) {
    deps.countCheck?.({ pipeline: spec.pipeline, scope: 'training', check: c.check, result: c.passed ? 'passed' : c.blocking ? 'failed' : 'warning' });
  }
  const log = { pipeline: spec.pipeline, data_quality_run: runId, rows: rows.length, checks: outcome.checks.length };
  if (outcome.warnings.length > 0) deps.logger.warn({ ...log, warnings: outcome.warnings.map(describeCheck) }, 'data-quality gate: warnings');
  if (outcome.passed) {
    deps.logger.info(log, 'data-quality gate passed');
    return outcome;
  }
  const failed = outcome.failed.map(({ check, feature, value, limit }): FailedCheck => ({ check, feature, value, limit }));
  const alerts = outcome.failed.map((c: CheckResult): AlertRecord => ({
    alert_id: randomUUID(), pipeline: spec.pipeline, kind: 'data_quality', feature: c.feature || DATASET_ALERT_FEATURE, statistic: c.check,
    value: c.value, threshold: c.limit, window_start: from, window_end: to,
    model_name: champion?.model_name ?? spec.model.name, model_version: champion?.model_version ?? 0, model_role: 'champion', created_at: computedAt,
  }));
  if (deps.raiseAlerts) await deps.raiseAlerts(alerts);
  const described = outcome.failed.map(describeCheck);
  deps.logger.warn({ ...log, failed: described }, 'data-quality gate failed: training blocked');
  throw new DataQualityError(
    `pipeline ${spec.pipeline}: the training window failed ${described.length} data-quality check(s): ${described.join('; ')} (data_quality run ${runId}); nothing trained`,
    failed, runId,
  );
}
