export { MonitoringModule } from './monitoring.module';
export { MonitoringService, type DriftReport } from './monitoring.service';
