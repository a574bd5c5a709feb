import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { InferenceService } from './inference.service';
import { InferenceStream } from './inference.stream';
import { PredictController } from './predict.controller';

@Module({})
export class InferenceModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: InferenceModule,
      controllers: [PredictController, InferenceStream],
      providers: [{ provide: RUNTIME, useValue: runtime }, InferenceService],
      exports: [InferenceService],
    };
  }
}
