import { Module } from '@nestjs/common';
import { FeatureStateFactory } from './feature-state';
import { FeaturesStream } from './features.stream';

/** Features: the feature stages' stream handlers. Its platform providers come from the global PlatformModule. */
@Module({ controllers: [FeaturesStream], providers: [FeatureStateFactory] })
export class FeaturesModule {}
