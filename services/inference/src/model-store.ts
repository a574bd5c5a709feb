import { createHash } from 'node:crypto';
import { PlatformError } from '@streamloop/errors';
import { loadExternalModel, OnnxModelError, OnnxScorer, type OnnxSessionOptions } from '@streamloop/ml';
import { admitOnnxModel } from '@streamloop/model-safety';
import {
  championsNewestFirst, emptyRegistry, shadowOf, foldRegistry, registryKey, sameEntry,
  type ModelRegistryRecord, type RegistryEntry, type RegistryMessage, type RegistryState,
} from '@streamloop/model-registry';

export interface ServingModel {
  record: ModelRegistryRecord;
  /** Where the served record is on the registry topic. */
  offset: bigint;
  scorer: OnnxScorer;
  loadedAt: number;
}

/** A registry record inference will not serve (size, hash, shapes, probe): the previous champion keeps serving. */
export class ModelRejectedError extends PlatformError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
  }
}

/** What following a batch of the registry changed. */
export interface FollowOutcome {
  /** Set when the served model changed: the one before (if any) and the one now (none when no champion can serve). */
  change?: { from?: ServingModel; to?: ServingModel };
  /** Set when the challenger changed (the registry's challenger rule), likewise. */
  challengerChange?: { from?: ServingModel; to?: ServingModel };
  /** Champions that failed their checks (each is refused once; a republished record is tried again). */
  refused: Array<{ entry: RegistryEntry; error: unknown }>;
}

/** Refuse anything larger: a registry record is one Kafka message, and a hostile one should cost little. */
const MAX_MODEL_BYTES = 64 * 1024 * 1024;

/**
 * The serving model per pipeline: the registry's champion (@streamloop/model-registry's rule, the one monitoring
 * measures), or, while the champion fails its checks, the newest earlier champion that passes them. Beside it the
 * store keeps the fallback loaded: the next champion down that list that passes its checks (the last good champion),
 * which scores the rows the serving model fails on at serve time. A new model is loaded and checked beside the
 * serving one and swapped in with one assignment, so scoring never sees a half-loaded model; a model that fails its
 * checks is refused and the previous one keeps serving. The model that scores beside the champion (the registry's
 * shadow rule: its challenger, or during a probation the previous champion) is loaded and checked the same way and
 * kept beside them; one that fails its checks is refused and none runs.
 */
export class ModelStore {
  private readonly serving = new Map<string, ServingModel>();
  private readonly fallbacks = new Map<string, ServingModel>();
  private readonly challengers = new Map<string, ServingModel>();
  /** Pipelines whose model beside the champion is the previous champion on a probation (scored in shadow only). */
  private readonly probations = new Set<string>();
  private readonly registries = new Map<string, RegistryState>();
  /** Records (key@offset) that failed their checks: not loaded again unless republished. */
  private readonly refused = new Set<string>();

  get(pipeline: string): ServingModel | undefined {
    return this.serving.get(pipeline);
  }

  /** The last good champion, loaded beside the serving model; undefined when no earlier champion passes its checks. */
  fallbackOf(pipeline: string): ServingModel | undefined {
    return this.fallbacks.get(pipeline);
  }

  /**
   * The model that scores beside the champion, loaded: the registry's challenger, or during a probation the previous
   * champion; undefined when there is none (or it failed its checks).
   */
  challengerOf(pipeline: string): ServingModel | undefined {
    return this.challengers.get(pipeline);
  }

  /** True while the model beside the champion is the previous champion on a probation: it scores in shadow only. */
  onProbation(pipeline: string): boolean {
    return this.probations.has(pipeline);
  }

  /** The pipeline's registry as folded so far (what a demotion is planned on). */
  registryOf(pipeline: string): RegistryState {
    return this.registries.get(pipeline) ?? emptyRegistry();
  }

  /**
   * Folds a pipeline's registry messages (in topic order) and serves what the champion rule says; models it loads get
   * the pipeline's onnxruntime session options (`serving.onnx`).
   */
  async follow(pipeline: string, messages: RegistryMessage[], session: OnnxSessionOptions = {}): Promise<FollowOutcome> {
    const registry = foldRegistry(this.registries.get(pipeline) ?? emptyRegistry(), messages);
    this.registries.set(pipeline, registry);
    const current = this.serving.get(pipeline);
    const currentChallenger = this.challengers.get(pipeline);
    const loaded = [current, this.fallbacks.get(pipeline), currentChallenger].filter((m): m is ServingModel => m !== undefined);
    const refused: FollowOutcome['refused'] = [];
    const chosen: ServingModel[] = [];
    const load = async (entry: RegistryEntry): Promise<ServingModel | undefined> => {
      const kept = [...loaded, ...chosen].find((m) => sameEntry(m, entry));
      if (kept) return kept;
      const id = `${registryKey(entry.record)}@${entry.offset}`;
      if (this.refused.has(id)) return undefined;
      try {
        return { record: entry.record, offset: entry.offset, scorer: await loadChecked(entry.record, session), loadedAt: Date.now() };
      } catch (error) {
        this.refused.add(id);
        refused.push({ entry, error });
        return undefined;
      }
    };
    // The first two champions that load, newest first: the serving model and its fallback. A model already loaded
    // (the serving one becoming the fallback, or the fallback taking over) is kept as it is, not loaded again.
    for (const entry of championsNewestFirst(registry, pipeline)) {
      if (chosen.length === 2) break;
      const model = await load(entry);
      if (model) chosen.push(model);
    }
    const [next, fallback] = chosen;
    // During a probation the model beside the champion is the previous champion, often the fallback too (one load).
    const shadow = shadowOf(registry, pipeline);
    const challenger = shadow && await load(shadow.entry);
    if (challenger && !chosen.includes(challenger)) chosen.push(challenger);
    if (shadow?.reason === 'probation') this.probations.add(pipeline);
    else this.probations.delete(pipeline);
    if (next) this.serving.set(pipeline, next);
    else this.serving.delete(pipeline);
    if (fallback) this.fallbacks.set(pipeline, fallback);
    else this.fallbacks.delete(pipeline);
    if (challenger) this.challengers.set(pipeline, challenger);
    else this.challengers.delete(pipeline);
    for (const m of loaded) if (!chosen.includes(m)) await m.scorer.release().catch(() => undefined);
    // No change when the same model serves (or none did and none does).
    const outcome: FollowOutcome = { refused };
    if (next !== current) outcome.change = { from: current, to: next };
    if (challenger !== currentChallenger) outcome.challengerChange = { from: currentChallenger, to: challenger };
    return outcome;
  }
}

async function loadChecked(record: ModelRegistryRecord, session: OnnxSessionOptions): Promise<OnnxScorer> {
  const where = `model ${record.pipeline}/${record.model_name} v${record.model_version}`;
  if (record.onnx.length === 0 || record.onnx.length > MAX_MODEL_BYTES) {
    throw new ModelRejectedError(`${where}: ONNX size ${record.onnx.length} bytes is outside 1..${MAX_MODEL_BYTES}`);
  }
  const sha = createHash('sha256').update(record.onnx).digest('hex');
  if (sha !== record.onnx_sha256) throw new ModelRejectedError(`${where}: sha256 ${sha} does not match the registry's ${record.onnx_sha256}`);
  if (record.feature_names.length === 0) throw new ModelRejectedError(`${where}: no feature names`);
  if (record.signature) return loadExternal(record, where, record.signature, session);
  const scorer = await OnnxScorer.load(record.onnx, { expectedFeatures: record.feature_names.length, ...session });
  // A probe row of NaNs exercises imputation and the whole graph; the result must be a probability.
  const probe = await scorer.score(new Float32Array(record.feature_names.length).fill(Number.NaN), 1);
  const p = probe.probabilities[0];
  if (!(p >= 0 && p <= 1)) {
    await scorer.release().catch(() => undefined);
    throw new ModelRejectedError(`${where}: probe row scored ${p}, expected a probability in [0, 1]`);
  }
  return scorer;
}

/**
 * A model trained elsewhere: its declared tensors, fed in feature_names order (the input mapping). The same
 * checks as at registration run again here, since the registry topic is also written by others: the untrusted
 * file's admission (libs/model-safety: its contents, then one probe in a limited child process) before onnxruntime
 * loads it in this process.
 */
async function loadExternal(
  record: ModelRegistryRecord, where: string, signature: NonNullable<ModelRegistryRecord['signature']>, session: OnnxSessionOptions,
): Promise<OnnxScorer> {
  try {
    await admitOnnxModel(record.onnx, { maxBytes: MAX_MODEL_BYTES });
  } catch (error) {
    if (error instanceof PlatformError && (error.code === 'UNSAFE_MODEL' || error.code === 'MODEL_TOO_LARGE')) {
      throw new ModelRejectedError(`${where} (external): ${error.message}`);
    }
    throw error;
  }
  try {
    return await loadExternalModel(record.onnx, {
      input: signature.input_name,
      columns: record.feature_names,
      probabilityOutput: signature.probability_output,
      positiveClassIndex: signature.positive_class_index,
    }, { maxBytes: MAX_MODEL_BYTES, session });
  } catch (error) {
    if (error instanceof OnnxModelError) throw new ModelRejectedError(`${where} (external): ${error.message}`);
    throw error;
  }
}
