import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { FeaturesService } from './features.service';

@Module({})
export class FeaturesModule {
  static register(runtime: Runtime): DynamicModule {
    return { module: FeaturesModule, providers: [{ provide: RUNTIME, useValue: runtime }, FeaturesService], exports: [FeaturesService] };
  }
}
