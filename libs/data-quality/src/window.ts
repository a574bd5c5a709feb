// One data-quality evaluation of a window against the champion's reference: profile (in ClickHouse), judge, and
// the data_quality rows that record it.
import { insertRows, TABLES, type ClickHouseClient, type DataQualityRow } from '@streamloop/clickhouse';
import type { DataQualitySpec } from '@streamloop/config';
import { evaluateDataQuality, referenceRanges, referenceVariety, type DataQualityOutcome } from './checks';
import { dataQualityProfile, type ProfileWindow } from './profile';

export interface CheckWindowInput {
  pipeline: string;
  scope: DataQualityRow['scope'];
  runId: string;
  /** Event-time window in epoch ms: from <= event_time < to. */
  from: number;
  to: number;
  features: readonly string[];
  limits: DataQualitySpec;
  /** The champion the window is checked against; undefined without one (no range check; the version check warns). */
  champion?: { name: string; version: number; featureSpecVersion: string; reference: Readonly<Record<string, ArrayLike<number>>> };
  /** Only vectors of this spec version (training); default: each event's latest vector. */
  featureSpecVersion?: string;
  /** Only labelled events (training: the dataset is features ⨝ labels). */
  labelledOnly?: boolean;
  computedAt: number;
  database?: string;
}

export interface WindowCheck {
  outcome: DataQualityOutcome;
  rows: DataQualityRow[];
}

/** The rows that record an outcome, one per check (and feature). */
export function dataQualityRows(input: CheckWindowInput, outcome: DataQualityOutcome, versionChecked: string): DataQualityRow[] {
  return outcome.checks.map((c) => ({
    pipeline: input.pipeline, scope: input.scope, run_id: input.runId, window_start: input.from, window_end: input.to,
    model_name: input.champion?.name ?? '', model_version: input.champion?.version ?? 0, feature_spec_version: versionChecked,
    check: c.check, feature: c.feature, value: c.value, limit: c.limit, passed: c.passed, blocking: c.blocking, computed_at: input.computedAt,
  }));
}

/**
 * Profiles the window inside ClickHouse, judges it against the limits and writes its data_quality rows (a passed
 * window is recorded too). Returns the outcome and the rows written.
 */
export async function checkWindow(ch: ClickHouseClient, input: CheckWindowInput): Promise<WindowCheck> {
  const { champion, limits } = input;
  const window: ProfileWindow = {
    pipeline: input.pipeline, from: input.from, to: input.to, features: input.features, database: input.database,
    featureSpecVersion: input.featureSpecVersion, labelledOnly: input.labelledOnly,
    // A reference of another feature spec version describes other columns: no range check against it.
    ranges: champion && (input.featureSpecVersion === undefined || input.featureSpecVersion === champion.featureSpecVersion)
      ? referenceRanges(champion.reference, limits.outOfRange.tolerance) : undefined,
  };
  // Training reads one version (it differs from the champion's or not); monitoring counts each event's latest vector.
  if (champion) window.expectedVersion = champion.featureSpecVersion;
  const profile = await dataQualityProfile(ch, window);
  const outcome = evaluateDataQuality(profile, limits, {
    championVersion: champion?.featureSpecVersion,
    referenceVariety: window.ranges && champion ? referenceVariety(champion.reference) : undefined,
  });
  const rows = dataQualityRows(input, outcome, input.featureSpecVersion ?? champion?.featureSpecVersion ?? '');
  if (rows.length > 0) await insertRows(ch, TABLES.data_quality, rows);
  return { outcome, rows };
}
