import { Module } from '@nestjs/common';
import { MonitoringController } from './monitoring.controller';
import { MonitoringService } from './monitoring.service';
import { MonitoringStream } from './monitoring.stream';
import { ReportController } from './report.controller';

/** Monitoring: the ClickHouse sink, the drift job and its alerts. Its platform providers come from the global PlatformModule. */
@Module({
  controllers: [MonitoringController, ReportController, MonitoringStream],
  providers: [MonitoringService],
  exports: [MonitoringService],
})
export class MonitoringModule {}
