import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { ExternalModelController } from './external-model.controller';
import { ExternalModelService } from './external-model.service';
import { TrainingController } from './training.controller';
import { TrainingService } from './training.service';

@Module({})
export class TrainingModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: TrainingModule,
      controllers: [TrainingController, ExternalModelController],
      providers: [{ provide: RUNTIME, useValue: runtime }, TrainingService, ExternalModelService],
      exports: [TrainingService],
    };
  }
}
