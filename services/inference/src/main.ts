// Runs the inference target alone: `node --import tsx services/inference/src/main.ts` (or `streamloop start --target inference`).
import { loadSettings } from '@streamloop/config';
import { Runtime, runStandalone } from '@streamloop/runtime';
import { InferenceModule } from './inference.module';

const runtime = Runtime.fromFiles(loadSettings(process.env));
await runStandalone(runtime, InferenceModule, 'inference');
