// Number, time and wording helpers shared by the Markdown and HTML renderers (both print the same words).
import type { ModelCard } from './card-model';

/** A number with `digits` decimals; '–' when undefined (NaN, ±∞). Whole numbers print without decimals. */
export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '–';
  return Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : v.toFixed(digits);
}

export function pct(v: number): string {
  return Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '–';
}

/** 0.95 → "95 %". */
export function confidenceText(v: number): string {
  return Number.isFinite(v) ? `${Math.round(v * 1000) / 10} %` : '–';
}

/** An instant as ISO 8601 (UTC, seconds); '–' for 0 (never recorded) and NaN. */
export function time(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '–';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "[0.812, 0.861]" or '–' without an interval. */
export function interval(low: number, high: number): string {
  return Number.isFinite(low) && Number.isFinite(high) ? `[${low.toFixed(3)}, ${high.toFixed(3)}]` : '–';
}

/** The section titles, in order: both renderers print these headings (tests look for them). */
export const SECTIONS = {
  overview: 'Overview',
  intendedUse: 'Intended use and owner',
  data: 'Training data',
  features: 'Features and importance',
  parameters: 'Parameters and search',
  metrics: 'Held-out metrics',
  calibration: 'Calibration',
  threshold: 'Threshold',
  segments: 'Segments (fairness)',
  drift: 'Drift reference',
  lineage: 'Lineage',
  limitations: 'Limitations',
  history: 'Promotion history',
} as const;

export function statusOf(card: ModelCard): string {
  if (card.serving) return `${card.stage}, serving`;
  if (card.challenger) return `${card.stage}, scoring beside the champion`;
  return card.stage;
}

export function importanceKindText(kind: string): string {
  if (kind === 'mean_abs_shap') return 'share of mean |SHAP| on the held-out rows';
  if (kind === 'abs_standardized_coefficient') return 'share of |standardized coefficient|';
  return kind === '' ? 'not recorded' : kind;
}

export function parentText(card: ModelCard): string {
  const { parent, parentKnown } = card.lineage;
  if (parent) return `${parent.modelName} v${parent.version} (the champion serving when this version was published)`;
  return parentKnown ? 'none: no champion served when this version was published' : 'unknown (model_events has no row of this version yet)';
}

export function searchText(card: ModelCard): string {
  const s = card.search;
  if (!s) return 'none: the spec had no model.search; the parameters are the spec\'s model.params';
  return `${s.strategy}, ${fmt(s.trials)} trials (${s.failedTrials} failed) cross-validated on the training part, optimizing ${s.metric}; trial ${fmt(s.bestTrial)} won (search ${s.id})`;
}

export const GAP_NAMES: Record<string, string> = {
  selection_rate: 'selection rate (demographic parity difference)',
  recall: 'recall (equal opportunity difference)',
  false_positive_rate: 'false positive rate',
  precision: 'precision',
  roc_auc: 'ROC AUC',
  equalized_odds: 'equalized odds difference',
};

export const SEGMENT_COLUMNS = ['n', 'positives', 'base_rate', 'selection_rate', 'precision', 'recall', 'false_positive_rate', 'roc_auc'] as const;
