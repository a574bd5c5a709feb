export { FeaturesModule } from './features.module';
export { FeaturesStream, LateEventError } from './features.stream';
