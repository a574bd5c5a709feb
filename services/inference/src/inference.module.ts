import { Module } from '@nestjs/common';
import { InferenceService } from './inference.service';
import { InferenceStream } from './inference.stream';
import { ModelDemotion } from './model-demotion';
import { PredictController } from './predict.controller';

/** Inference: streaming and REST predict, the served champion. Its platform providers come from the global PlatformModule. */
@Module({
  controllers: [PredictController, InferenceStream],
  providers: [InferenceService, ModelDemotion],
  exports: [InferenceService],
})
export class InferenceModule {}
