import { METRIC_DIRECTION } from '../evaluation/cross-validate';
import { seededRandom } from '../random';
import { ROWS_RESOURCE } from './objective';
import { sampleParams, type SearchSpace } from './space';
import { bestTrial, checkMetric, compareTrials, runTrial, type SearchOptionsBase, type SearchResult, type TrialRecord } from './trial';

export interface HalvingRung {
  rung: number;
  /** Candidates evaluated at this rung. */
  candidates: number;
  budget: number;
}

/**
 * The rungs of successive halving, as scikit-learn's HalvingRandomSearchCV lays them out (without aggressive
 * elimination): rung i evaluates its candidates at budget min · factor^i (capped at max, truncated to an integer
 * for integer resources — sklearn's int()), and keeps the best ⌈candidates / factor⌉ for the next rung. There are
 * min(possible, required) rungs: possible = 1 + the largest p with min · factor^p ≤ max, required = 1 + the
 * largest p with factor^p ≤ nCandidates. (scikit-learn computes these p as floor(log(·, factor)) in floating
 * point, which can come out one lower at exact powers such as log(243, 3); the integer comparison here does not.)
 */
export function halvingSchedule(opts: { nCandidates: number; factor: number; minBudget: number; maxBudget: number; integerBudget: boolean }): HalvingRung[] {
  const { nCandidates, factor, minBudget, maxBudget, integerBudget } = opts;
  if (!Number.isInteger(nCandidates) || nCandidates < 1) throw new RangeError(`search.n_candidates: expected an integer ≥ 1, got ${nCandidates}`);
  if (!(factor > 1)) throw new RangeError(`search.factor: expected a number > 1, got ${factor}`);
  if (!(minBudget > 0)) throw new RangeError(`search.min_budget: expected a number > 0, got ${minBudget}`);
  if (!(maxBudget >= minBudget)) throw new RangeError(`search.max_budget: expected at least min_budget (${minBudget}), got ${maxBudget}`);
  if (integerBudget && (!Number.isInteger(minBudget) || !Number.isInteger(maxBudget))) {
    throw new RangeError(`search: an integer resource needs integer budgets, got min ${minBudget}, max ${maxBudget}`);
  }
  const slack = integerBudget ? 0 : maxBudget * 1e-12; // fractions like 1/9 · 9 may land a hair above 1
  let possible = 1;
  while (minBudget * factor ** possible <= maxBudget + slack) possible++;
  let required = 1;
  while (factor ** required <= nCandidates) required++;
  const rungs: HalvingRung[] = [];
  let candidates = nCandidates;
  for (let i = 0; i < Math.min(possible, required); i++) {
    const raw = factor ** i * minBudget;
    rungs.push({ rung: i, candidates, budget: Math.min(integerBudget ? Math.trunc(raw) : raw, maxBudget) });
    candidates = Math.ceil(candidates / factor);
  }
  return rungs;
}

export interface SuccessiveHalvingOptions extends SearchOptionsBase {
  space: SearchSpace;
  /** Parameter sets drawn for the first rung. */
  nCandidates: number;
  /** Share of candidates kept per rung is 1/factor; budgets grow by factor. Default 3. */
  factor?: number;
  /** 'rows' (a fraction of each fold's training rows) or an integer model param such as max_iter. */
  resource: string;
  minBudget: number;
  /** Default 1 for 'rows'; required for a param resource. */
  maxBudget?: number;
}

/**
 * Successive halving over randomly drawn candidates (HalvingRandomSearchCV): every candidate is
 * cross-validated at a small budget, the best 1/factor move up to a factor-times larger budget, and so on; the
 * best trial of the last rung wins. Failed or unscored candidates rank last.
 */
export function successiveHalving(opts: SuccessiveHalvingOptions): SearchResult {
  const metric = checkMetric(opts.metric ?? 'roc_auc');
  const direction = METRIC_DIRECTION[metric];
  const resource = opts.resource;
  const isRows = resource === ROWS_RESOURCE;
  if (!isRows && resource in opts.space) throw new RangeError(`search.resource: ${resource} is also in the search space; the budget sets it`);
  const maxBudget = opts.maxBudget ?? (isRows ? 1 : Number.NaN);
  if (Number.isNaN(maxBudget)) throw new RangeError(`search.max_budget: required when the resource is the param ${resource}`);
  if (isRows && !(maxBudget <= 1)) throw new RangeError(`search.max_budget: a rows budget is a fraction ≤ 1, got ${maxBudget}`);
  const schedule = halvingSchedule({ nCandidates: opts.nCandidates, factor: opts.factor ?? 3, minBudget: opts.minBudget, maxBudget, integerBudget: !isRows });

  const rnd = seededRandom(opts.seed ?? 0);
  const params = Array.from({ length: opts.nCandidates }, () => sampleParams(opts.space, rnd));
  const trials: TrialRecord[] = [];
  let alive = params.map((_, i) => i);
  let lastRung: TrialRecord[] = [];
  for (const step of schedule) {
    const budget = { resource, value: step.budget };
    lastRung = alive.map((candidateId) => {
      const trial = runTrial(opts.objective, metric, { trialId: trials.length, candidateId, rung: step.rung }, params[candidateId], budget);
      trials.push(trial);
      opts.onTrial?.(trial);
      return trial;
    });
    const keep = Math.ceil(alive.length / (opts.factor ?? 3));
    alive = [...lastRung].sort(compareTrials(direction)).slice(0, keep).map((t) => t.candidateId).sort((a, b) => a - b);
  }
  return { strategy: 'successive_halving', metric, direction, trials, best: bestTrial(lastRung, direction) };
}
