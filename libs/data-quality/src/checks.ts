// The data-quality checks as pure functions over the numbers a window's profile holds (dataQualityProfile computes
// them inside ClickHouse): which check passes, against which limit of the spec's data_quality section.
import type { DataQualitySpec } from '@streamloop/config';

/** The checks, named after the spec key that limits each (a min_… check fails below its limit, a max_… one above). */
export const DATA_QUALITY_CHECKS = [
  'min_rows', 'max_duplicate_share', 'min_label_rate', 'max_label_rate', 'feature_spec_version',
  'max_missing_rate', 'max_out_of_range_share', 'min_distinct', 'max_top_value_share',
] as const;
export type DataQualityCheck = (typeof DATA_QUALITY_CHECKS)[number];

/** What one feature looks like in the window: counts over its rows (one per event, its latest vector). */
export interface FeatureProfile {
  feature: string;
  /** Rows of the window (missing values included). */
  rows: number;
  /** Rows where the feature is absent from the vector or NaN. */
  missing: number;
  /** Distinct present values (−0 and 0 are one value). */
  distinct: number;
  /** Rows holding the most frequent present value (0 when none is present). */
  topCount: number;
  /** Present values outside the reference range; undefined when the feature has no reference range. */
  outOfRange?: number;
}

/** The window as a whole. */
export interface WindowProfile {
  /** Distinct events (one row each). */
  rows: number;
  /** Events whose id occurs with more than one (entity, event time). */
  duplicateEvents: number;
  /** Events with a label, and those labelled 1. */
  labelled: number;
  positives: number;
  /** Events whose (latest) vector is of another feature spec version than the expected one. */
  otherVersionRows: number;
  features: FeatureProfile[];
}

/** A reference range per feature: the finite reference values' [min − tolerance·range, max + tolerance·range]. */
export interface ReferenceRange {
  lo: number;
  hi: number;
}

export interface CheckResult {
  check: DataQualityCheck;
  /** '' for a dataset-level check. */
  feature: string;
  value: number;
  limit: number;
  passed: boolean;
  /** A failure blocks training (false: a warning, e.g. no champion to compare the feature spec version with). */
  blocking: boolean;
}

export interface DataQualityOutcome {
  checks: CheckResult[];
  /** The blocking checks that failed. */
  failed: CheckResult[];
  /** Non-blocking checks that failed. */
  warnings: CheckResult[];
  /** No blocking check failed. */
  passed: boolean;
}

/** Whether lower values of a check are the bad side (a min_… check) or higher ones. */
export function checkDirection(check: DataQualityCheck): 'below' | 'above' {
  return check.startsWith('min_') ? 'below' : 'above';
}

/**
 * The reference range of each feature with at least one finite reference value: a value in the window outside
 * [min − tolerance·(max − min), max + tolerance·(max − min)] is out of range (a constant reference admits its value only).
 */
export function referenceRanges(reference: Readonly<Record<string, ArrayLike<number>>>, tolerance: number): Map<string, ReferenceRange> {
  if (!(tolerance >= 0)) throw new RangeError(`referenceRanges: tolerance must be ≥ 0, got ${tolerance}`);
  const out = new Map<string, ReferenceRange>();
  for (const [feature, values] of Object.entries(reference)) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min > max) continue;
    const slack = tolerance * (max - min);
    out.set(feature, { lo: min - slack, hi: max + slack });
  }
  return out;
}

/** How varied a feature was in the reference: distinct present values and the most frequent one's share. */
export interface ReferenceVariety {
  distinct: number;
  topShare: number;
}

/** Per feature of a reference sample with a present value: its variety (NaN is missing; −0 and 0 are one value). */
export function referenceVariety(reference: Readonly<Record<string, ArrayLike<number>>>): Map<string, ReferenceVariety> {
  const out = new Map<string, ReferenceVariety>();
  for (const [feature, values] of Object.entries(reference)) {
    const counts = new Map<number, number>();
    let present = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isNaN(v)) continue;
      present++;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    if (present === 0) continue;
    out.set(feature, { distinct: counts.size, topShare: Math.max(...counts.values()) / present });
  }
  return out;
}

export interface EvaluateOptions {
  /**
   * The champion's feature spec version; undefined without a champion: the version check is then a warning (there
   * is nothing to compare with) and so is every check that needs a reference.
   */
  championVersion?: string;
  /**
   * The reference's variety per feature. A feature that is constant or near-constant in the window fails min_distinct
   * and max_top_value_share as a blocking check only when it was varied enough in the reference (it became
   * constant); one that was just as constant there (a one-hot column of a category that never occurs), or has no
   * reference, gives a warning.
   */
  referenceVariety?: ReadonlyMap<string, ReferenceVariety>;
}

const share = (part: number, whole: number) => (whole > 0 ? part / whole : Number.NaN);

/**
 * Judges a window's profile against the limits. Every check gives one result (per feature for the feature checks);
 * a check whose value is undefined (no row, no present value, too few labels) is left out rather than failed, except
 * min_rows, which an empty window fails. The label rate is judged only with at least `minLabelled` labelled rows.
 */
export function evaluateDataQuality(profile: WindowProfile, limits: DataQualitySpec, opts: EvaluateOptions = {}): DataQualityOutcome {
  const checks: CheckResult[] = [];
  const judge = (check: DataQualityCheck, feature: string, value: number, limit: number, blocking = true) => {
    if (Number.isNaN(value)) return;
    const passed = checkDirection(check) === 'below' ? value >= limit : value <= limit;
    checks.push({ check, feature, value, limit, passed, blocking });
  };
  judge('min_rows', '', profile.rows, limits.minRows);
  judge('max_duplicate_share', '', share(profile.duplicateEvents, profile.rows), limits.maxDuplicateShare);
  if (profile.labelled > 0 && profile.labelled >= limits.minLabelled) {
    const rate = profile.positives / profile.labelled;
    judge('min_label_rate', '', rate, limits.minLabelRate);
    judge('max_label_rate', '', rate, limits.maxLabelRate);
  }
  if (opts.championVersion === undefined) {
    // No champion: nothing to compare with; recorded as a warning.
    checks.push({ check: 'feature_spec_version', feature: '', value: 1, limit: 0, passed: false, blocking: false });
  } else {
    judge('feature_spec_version', '', share(profile.otherVersionRows, profile.rows), 0, limits.featureSpecVersion === 'require');
  }
  for (const f of profile.features) {
    const present = f.rows - f.missing;
    judge('max_missing_rate', f.feature, share(f.missing, f.rows), limits.maxMissingRate);
    if (f.outOfRange !== undefined) judge('max_out_of_range_share', f.feature, share(f.outOfRange, present), limits.outOfRange.maxShare);
    if (present > 0) {
      const ref = opts.referenceVariety?.get(f.feature);
      judge('min_distinct', f.feature, f.distinct, limits.minDistinct, ref !== undefined && ref.distinct >= limits.minDistinct);
      judge('max_top_value_share', f.feature, share(f.topCount, present), limits.maxTopValueShare, ref !== undefined && ref.topShare <= limits.maxTopValueShare);
    }
  }
  const failed = checks.filter((c) => !c.passed && c.blocking);
  const warnings = checks.filter((c) => !c.passed && !c.blocking);
  return { checks, failed, warnings, passed: failed.length === 0 };
}

/** One line per failed check, for errors and logs: `max_missing_rate(amount) = 0.9 > 0.5`. */
export function describeCheck(c: CheckResult): string {
  const op = checkDirection(c.check) === 'below' ? '<' : '>';
  return `${c.check}${c.feature ? `(${c.feature})` : ''} = ${round(c.value)} ${c.passed ? (op === '<' ? '>=' : '<=') : op} ${round(c.limit)}`;
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
