import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { TrainingController } from './training.controller';
import { TrainingService } from './training.service';

@Module({})
export class TrainingModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: TrainingModule,
      controllers: [TrainingController],
      providers: [{ provide: RUNTIME, useValue: runtime }, TrainingService],
      exports: [TrainingService],
    };
  }
}
