export { TrainingModule } from './training.module';
export { TrainingService, NotEnoughDataError, type TrainingResult } from './training.service';
