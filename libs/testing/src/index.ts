export { seededRandom } from '@streamloop/ml';
export { generateCardTransactions, type CardTransaction, type CardStreamOptions, type LabelledTransaction } from './card-transactions';
export { startLocalKafka, type LocalKafka } from './local-kafka';
export {
  AGRAWAL_FEATURES, agrawalFeatures, agrawalLabel, changeStart, generateAgrawalStream, generateSeaStream, newConceptShare, SEA_FEATURES, SEA_THRESHOLDS,
  seaLabel, type AgrawalConcept, type AgrawalFunction, type AgrawalRecord, type AgrawalStreamOptions, type ConceptChange, type DriftStreamEvent,
  type SeaStreamOptions,
} from './drift-streams';
