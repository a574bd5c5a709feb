export { normalSf, normalPpf, studentTSf, studentTPpf, incompleteBeta } from './distributions';
export {
  delongTest, pairedLogLossTest, LOG_LOSS_EPSILON, type AucComparison, type LogLossComparison, type PairedTestOptions,
} from './paired-tests';
export {
  decidePromotion, decideProbation, type PromotionRule, type PromotionDecision, type PromotionVerdict, type ProbationDecision, type ProbationVerdict,
} from './decision';
