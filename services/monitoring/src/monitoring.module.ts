import { Module } from '@nestjs/common';
import { ConsoleController } from './console.controller';
import { MonitoringController } from './monitoring.controller';
import { MonitoringService } from './monitoring.service';
import { MonitoringStream } from './monitoring.stream';
import { ReportController } from './report.controller';

/** Monitoring: the ClickHouse sink, the drift job and its alerts, the web console. Its platform providers come from the global PlatformModule. */
@Module({
  controllers: [MonitoringController, ReportController, MonitoringStream, ConsoleController],
  providers: [MonitoringService],
  exports: [MonitoringService],
})
export class MonitoringModule {}
