import { METRIC_DIRECTION } from '../evaluation/cross-validate';
import { seededRandom } from '../random';
import { sampleParams, type SearchSpace } from './space';
import { bestTrial, checkMetric, runTrial, type SearchOptionsBase, type SearchResult, type TrialRecord } from './trial';

export interface RandomSearchOptions extends SearchOptionsBase {
  space: SearchSpace;
  /** Parameter sets to draw and cross-validate. */
  nTrials: number;
}

/** Random search: nTrials parameter sets drawn from the space (seeded), each scored by the objective in full. */
export function randomSearch(opts: RandomSearchOptions): SearchResult {
  const metric = checkMetric(opts.metric ?? 'roc_auc');
  const direction = METRIC_DIRECTION[metric];
  if (!Number.isInteger(opts.nTrials) || opts.nTrials < 1) throw new RangeError(`search.n_trials: expected an integer ≥ 1, got ${opts.nTrials}`);
  const rnd = seededRandom(opts.seed ?? 0);
  const candidates = Array.from({ length: opts.nTrials }, () => sampleParams(opts.space, rnd));
  const trials: TrialRecord[] = [];
  candidates.forEach((params, i) => {
    const trial = runTrial(opts.objective, metric, { trialId: i, candidateId: i, rung: 0 }, params, null);
    trials.push(trial);
    opts.onTrial?.(trial);
  });
  return { strategy: 'random', metric, direction, trials, best: bestTrial(trials, direction) };
}
