// Limitations a card finds by itself, each from a rule with a threshold, so that what the numbers cannot support is
// said next to them instead of being left for the reader to notice.
import type { ModelCard } from './card-model';

export interface LimitationRules {
  /** A segment with fewer held-out rows is flagged (its metrics are noise). */
  minSegmentSupport: number;
  /** A feature with a larger share of missing values in the reference sample is flagged. */
  maxMissingRate: number;
  /** A metric whose confidence interval is wider is flagged. */
  maxIntervalWidth: number;
  /** Fewer held-out positives than this make every held-out metric fragile. */
  minHoldoutPositives: number;
  /** A segment gap (fairness) larger than this is flagged. */
  maxSegmentGap: number;
  /** An expected calibration error larger than this is flagged. */
  maxCalibrationError: number;
}

export const DEFAULT_LIMITATION_RULES: LimitationRules = {
  minSegmentSupport: 50,
  maxMissingRate: 0.2,
  maxIntervalWidth: 0.1,
  minHoldoutPositives: 30,
  maxSegmentGap: 0.1,
  maxCalibrationError: 0.1,
};

export type LimitationKind = 'small_segment' | 'missing_values' | 'wide_interval' | 'few_positives' | 'segment_gap' | 'calibration' | 'no_evaluation' | 'partial_segments';

export interface Limitation {
  kind: LimitationKind;
  /** What it concerns: a segment, a feature, a metric, or '' for the model. */
  subject: string;
  message: string;
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const fix = (v: number) => v.toFixed(3);

/** The rules applied to a card's numbers, in the card's order: data, features, metrics, calibration, segments. */
export function findLimitations(card: ModelCard, rules: LimitationRules): Limitation[] {
  const out: Limitation[] = [];
  if (card.metrics.length === 0) {
    out.push({ kind: 'no_evaluation', subject: '', message: 'the record has no held-out metrics (a model registered from elsewhere, or trained before they were recorded): nothing on this card says how well it scores' });
  }
  const positives = card.training.holdoutPositives;
  if (Number.isFinite(positives) && positives < rules.minHoldoutPositives) {
    out.push({ kind: 'few_positives', subject: '', message: `the held-out window has ${positives} positive label${positives === 1 ? '' : 's'} (fewer than ${rules.minHoldoutPositives}): recall, precision and the ranking metrics rest on very few cases` });
  }
  for (const f of card.features) {
    if (f.missingRate > rules.maxMissingRate) {
      out.push({ kind: 'missing_values', subject: f.name, message: `feature ${f.name} is missing in ${pct(f.missingRate)} of the reference sample (more than ${pct(rules.maxMissingRate)}): the model often sees its imputed value (or, for trees, the default branch) instead` });
    }
  }
  for (const m of card.metrics) {
    const width = m.high - m.low;
    if (width > rules.maxIntervalWidth) {
      out.push({ kind: 'wide_interval', subject: m.name, message: `${m.name} ${fix(m.value)} has a ${Math.round((card.bootstrap?.confidence ?? 0.95) * 1000) / 10} % interval [${fix(m.low)}, ${fix(m.high)}], ${fix(width)} wide (more than ${rules.maxIntervalWidth}): the held-out window is too small to pin it down` });
    }
  }
  const cal = card.calibration;
  if (cal && cal.ece > rules.maxCalibrationError) {
    out.push({ kind: 'calibration', subject: 'calibration', message: `expected calibration error ${fix(cal.ece)} (more than ${rules.maxCalibrationError}): scores are not probabilities; compare them with the threshold, not as risks` });
  }
  const seg = card.segments;
  if (seg) {
    if (Number.isFinite(seg.coverage) && seg.coverage < 1) {
      out.push({ kind: 'partial_segments', subject: seg.attribute, message: `only ${pct(seg.coverage)} of the held-out rows had their event (and ${seg.attribute}) stored: the segment metrics cover those rows only` });
    }
    for (const s of seg.segments) {
      if (s.lowSupport) {
        out.push({ kind: 'small_segment', subject: `${seg.attribute}=${s.name}`, message: `segment ${seg.attribute}=${s.name} has ${s.metrics.n ?? 0} held-out rows (fewer than ${rules.minSegmentSupport}): its metrics are not reliable${s.metrics.n < 30 ? ', and it is left out of the gaps' : ''}` });
      }
    }
    for (const [gap, value] of Object.entries(seg.gaps)) {
      if (value > rules.maxSegmentGap) {
        out.push({ kind: 'segment_gap', subject: `${seg.attribute}:${gap}`, message: `${gap} differs by ${fix(value)} across the segments of ${seg.attribute} (more than ${rules.maxSegmentGap})` });
      }
    }
  }
  return out;
}
