import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { MonitoringController } from './monitoring.controller';
import { MonitoringService } from './monitoring.service';
import { MonitoringStream } from './monitoring.stream';

@Module({})
export class MonitoringModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: MonitoringModule,
      controllers: [MonitoringController, MonitoringStream],
      providers: [{ provide: RUNTIME, useValue: runtime }, MonitoringService],
      exports: [MonitoringService],
    };
  }
}
