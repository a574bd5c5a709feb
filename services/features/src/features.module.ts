import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { FeatureStateFactory } from './feature-state';
import { FeaturesStream } from './features.stream';

@Module({})
export class FeaturesModule {
  static register(runtime: Runtime): DynamicModule {
    return { module: FeaturesModule, controllers: [FeaturesStream], providers: [{ provide: RUNTIME, useValue: runtime }, FeatureStateFactory] };
  }
}
