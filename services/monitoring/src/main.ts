// Runs the monitoring target alone: `node --import tsx services/monitoring/src/main.ts` (or `streamloop start --target monitoring`).
import { loadSettings } from '@streamloop/config';
import { Runtime, runStandalone } from '@streamloop/runtime';
import { MonitoringModule } from './monitoring.module';

const runtime = Runtime.fromFiles(loadSettings(process.env));
await runStandalone(runtime, MonitoringModule, 'monitoring', { usesClickHouse: true });
