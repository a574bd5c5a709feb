// Runs the ingestion target alone: `node --import tsx services/ingestion/src/main.ts` (or `streamloop start --target ingestion`).
import { loadSettings } from '@streamloop/config';
import { Runtime, runStandalone } from '@streamloop/runtime';
import { IngestionModule } from './ingestion.module';

const runtime = Runtime.fromFiles(loadSettings(process.env));
await runStandalone(runtime, IngestionModule, 'ingestion');
