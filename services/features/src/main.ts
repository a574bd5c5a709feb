// Runs the features target alone: `node --import tsx services/features/src/main.ts` (or `streamloop start --target features`).
import { loadSettings } from '@streamloop/config';
import { Runtime, runStandalone } from '@streamloop/runtime';
import { FeaturesModule } from './features.module';

const runtime = Runtime.fromFiles(loadSettings(process.env));
await runStandalone(runtime, FeaturesModule, 'features');
