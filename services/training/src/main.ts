// Runs the training target alone: `node --import tsx services/training/src/main.ts` (or `streamloop start --target training`).
import { loadSettings } from '@streamloop/config';
import { Runtime, runStandalone } from '@streamloop/runtime';
import { TrainingModule } from './training.module';

const runtime = Runtime.fromFiles(loadSettings(process.env));
await runStandalone(runtime, TrainingModule, 'training', { usesClickHouse: true });
