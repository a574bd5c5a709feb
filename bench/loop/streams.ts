// The streams of `npm run bench:loop`: SEA and Agrawal (libs/testing drift-streams) as an outside app's Avro events,
// each with one sudden concept change at a known position or none (the control), and what the bench compares the
// served model with: a model of the spec's algorithm trained on the true current concept, and the generator's own
// labelling function.
import { trainClassifier, type Algorithm } from '@streamloop/ml';
import {
  AGRAWAL_FEATURES, agrawalLabel, generateAgrawalStream, generateSeaStream, SEA_FEATURES, SEA_THRESHOLDS,
  type AgrawalFunction, type AgrawalRecord, type DriftStreamEvent,
} from '@streamloop/testing';

export type StreamName = 'sea' | 'agrawal';
export const STREAM_NAMES: readonly StreamName[] = ['sea', 'agrawal'];

/** SEA's label noise, as in the paper and bench:drift. */
const SEA_NOISE = 0.1;
/** SEA θ before and after the change (the paper's first two concepts, as bench:drift). */
const SEA_CONCEPTS = [SEA_THRESHOLDS[0], SEA_THRESHOLDS[1]] as const;
/** Agrawal function before and after the change (2 → 4 relabels about 21 % of applicants, as bench:drift). */
const AGRAWAL_CONCEPTS: readonly AgrawalFunction[] = [2, 4];
/** Agrawal attributes that are whole numbers; the others are doubles in the event schema. */
const AGRAWAL_INTS = new Set(['age', 'elevel', 'car', 'zipcode', 'hyears']);

export interface LoopStream {
  name: StreamName;
  description: string;
  features: readonly string[];
  algorithm: Algorithm;
  /** The spec's model.params (also used for the best-possible model). */
  params: Record<string, number>;
  /** Avro type of each feature field in the event schema. */
  fieldType(feature: string): 'double' | 'int';
  /** The stream: concept 0 throughout, or concept 0 then 1 from `changeAt` on. */
  generate(seed: number, events: number, changeAt: number | null): DriftStreamEvent[];
  /** `rows` fresh events of one concept (another seed), to train the best-possible model on. */
  conceptSample(concept: number, seed: number, rows: number): DriftStreamEvent[];
  /** The generator's score for an event: the probability of class 1 under its concept's labelling function. */
  oracleScore(event: DriftStreamEvent): number;
}

const sea: LoopStream = {
  name: 'sea',
  description: `SEA (3 features uniform on [0, 10], class x1 + x2 ≤ θ, ${SEA_NOISE * 100} % label noise), θ ${SEA_CONCEPTS[0]} → ${SEA_CONCEPTS[1]}`,
  features: SEA_FEATURES,
  algorithm: 'logistic_regression',
  params: {},
  fieldType: () => 'double',
  generate: (seed, events, changeAt) => generateSeaStream({
    seed, events, noise: SEA_NOISE,
    concepts: changeAt === null ? [SEA_CONCEPTS[0]] : [...SEA_CONCEPTS], changes: changeAt === null ? [] : [{ position: changeAt }],
  }),
  conceptSample: (concept, seed, rows) => generateSeaStream({ seed, events: rows, noise: SEA_NOISE, concepts: [SEA_CONCEPTS[concept]] }),
  // Noise flips labels independently of x, so P(y = 1 | x) is 1 − noise inside the concept's region, noise outside:
  // the Bayes-optimal score.
  oracleScore: (e) => (e.x[0] + e.x[1] <= SEA_CONCEPTS[e.concept] ? 1 - SEA_NOISE : SEA_NOISE),
};

const agrawal: LoopStream = {
  name: 'agrawal',
  description: `Agrawal (9 applicant attributes, perturbation 0.05), function ${AGRAWAL_CONCEPTS[0]} → ${AGRAWAL_CONCEPTS[1]}`,
  features: AGRAWAL_FEATURES,
  algorithm: 'gbdt',
  // bench:drift's model: enough for Agrawal's band rules, quick to train and score.
  params: { max_iter: 30, max_leaf_nodes: 15, seed: 0 },
  fieldType: (feature) => (AGRAWAL_INTS.has(feature) ? 'int' : 'double'),
  generate: (seed, events, changeAt) => generateAgrawalStream({
    seed, events,
    concepts: changeAt === null ? [{ fn: AGRAWAL_CONCEPTS[0] }] : AGRAWAL_CONCEPTS.map((fn) => ({ fn })), changes: changeAt === null ? [] : [{ position: changeAt }],
  }),
  conceptSample: (concept, seed, rows) => generateAgrawalStream({ seed, events: rows, concepts: [{ fn: AGRAWAL_CONCEPTS[concept] }] }),
  // The class is decided before the attributes are perturbed, so the rule on the observed attributes is close to, not
  // exactly, Bayes-optimal (the perturbation blurs each band's edges).
  oracleScore: (e) => agrawalLabel(AGRAWAL_CONCEPTS[e.concept], Object.fromEntries(AGRAWAL_FEATURES.map((f, j) => [f, e.x[j]])) as unknown as AgrawalRecord),
};

export const LOOP_STREAMS: Record<StreamName, LoopStream> = { sea, agrawal };

/** Rows the best-possible model of each concept is trained on. */
export const BEST_MODEL_ROWS = 5_000;

/**
 * The best-possible score of every event: a model of the spec's algorithm and params trained on BEST_MODEL_ROWS fresh
 * events of the concept that labelled it — what the platform would serve had it retrained on the new concept the
 * moment it changed, with ample data.
 */
export function bestPossibleScores(stream: LoopStream, events: readonly DriftStreamEvent[], seed: number): Float64Array {
  const scores = new Float64Array(events.length);
  const concepts = [...new Set(events.map((e) => e.concept))];
  for (const concept of concepts) {
    const sample = stream.conceptSample(concept, seed + 1_000 + concept, BEST_MODEL_ROWS);
    const model = trainClassifier(stream.algorithm, sample.map((e) => e.x), sample.map((e) => e.y), { featureNames: [...stream.features], params: stream.params });
    const indices = events.flatMap((e, i) => (e.concept === concept ? [i] : []));
    const proba = model.predictProba(indices.map((i) => events[i].x));
    indices.forEach((i, k) => { scores[i] = proba[k]; });
  }
  return scores;
}
