export { FeaturesModule } from './features.module';
export { FeaturesService } from './features.service';
