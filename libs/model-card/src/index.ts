export {
  buildModelCard, CARD_METRICS, TOP_TRIALS,
  type ModelCard, type ModelCardInputs, type CardExperimentRow, type CardModelEvent, type CardFeature, type CardSearch, type CardTrial,
  type CardSegments, type CardSegment, type CardHistoryEntry, type CalibrationBinRow, type MetricWithInterval,
} from './card-model';
export { findLimitations, DEFAULT_LIMITATION_RULES, type Limitation, type LimitationKind, type LimitationRules } from './limitations';
export { renderMarkdown, mdText, mdCode } from './markdown';
export { renderHtml, esc } from './html';
export { SECTIONS } from './format';
export { loadCardSources, MAX_MODEL_EVENTS, type CardSourceOptions } from './sources';
