export { InferenceModule } from './inference.module';
export { InferenceService, NoModelYetError, type PredictResult } from './inference.service';
export { ModelStore, ModelRejectedError } from './model-store';
