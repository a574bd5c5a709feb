// Checks of a spec's `model` section that need the algorithms' own param parsers: the config loader cannot call them
// (libs/config depends on no compute library), so training and `streamloop validate` both call these.
import type { ModelSpec, SearchSpec } from '@streamloop/config';
import { seededRandom } from './random';
import { ROWS_RESOURCE, parseSearchSpace, sampleParams } from './search';
import { checkClassifierParams, type Algorithm, type ModelParamValue } from './trainer';

/**
 * Fails when a searched param is unknown to the algorithm or of the wrong type, naming its `model.search.space` key
 * (or `model.search.resource`); a bad `model.params` entry is named as such. Training calls it before any trial,
 * since otherwise every trial would fail with the same error.
 */
export function checkSearchParams(algorithm: Algorithm, search: SearchSpec, baseParams: Record<string, ModelParamValue>): void {
  const space = parseSearchSpace(search.space, 'model.search.space');
  const probe: Record<string, ModelParamValue> = { ...baseParams, ...sampleParams(space, seededRandom(search.seed)) };
  if (search.strategy === 'successive_halving' && search.resource !== ROWS_RESOURCE) probe[search.resource] = search.maxResource;
  try {
    checkClassifierParams(algorithm, probe);
  } catch (error) {
    const message = (error as Error).message;
    const key = /^model\.params\.([A-Za-z0-9_]+)/.exec(message)?.[1];
    if (key && key in search.space) throw new RangeError(message.replace(`model.params.${key}`, `model.search.space.${key}`), { cause: error });
    if (key && search.strategy === 'successive_halving' && key === search.resource) {
      throw new RangeError(message.replace(`model.params.${key}`, 'model.search.resource'), { cause: error });
    }
    throw error;
  }
}

/**
 * What is wrong with a spec's `model.params` and `model.search` for its algorithm, as messages that start with the
 * key (`model.params.l2: …`); empty when training would accept them.
 */
export function modelSpecProblems(model: Pick<ModelSpec, 'algorithm' | 'params' | 'search'>): string[] {
  const messageOf = (check: () => void): string[] => {
    try {
      check();
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  };
  const params = messageOf(() => checkClassifierParams(model.algorithm, model.params));
  // With model.params already wrong, every search probe would repeat that error.
  if (params.length > 0 || !model.search) return params;
  const search = model.search;
  return messageOf(() => checkSearchParams(model.algorithm, search, model.params));
}
