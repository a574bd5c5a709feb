export { parseSearchSpace, sampleParams, type ParamDistribution, type ParamValues, type SearchSpace } from './space';
export { crossValidationObjective, ROWS_RESOURCE, type Budget, type CrossValidationObjectiveOptions, type TrialObjective } from './objective';
export { bestTrial, compareTrials, runTrial, type SearchOptionsBase, type SearchResult, type TrialRecord } from './trial';
export { randomSearch, type RandomSearchOptions } from './random-search';
export { halvingSchedule, successiveHalving, type HalvingRung, type SuccessiveHalvingOptions } from './halving';
