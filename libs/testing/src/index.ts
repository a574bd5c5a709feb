export { seededRandom } from '@streamloop/ml';
export { generateCardTransactions, type CardTransaction, type CardStreamOptions, type LabelledTransaction } from './card-transactions';
export { startLocalKafka, type LocalKafka } from './local-kafka';
