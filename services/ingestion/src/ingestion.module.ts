import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { IngestController } from './ingest.controller';
import { IngestionService } from './ingestion.service';

@Module({})
export class IngestionModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: IngestionModule,
      controllers: [IngestController],
      providers: [{ provide: RUNTIME, useValue: runtime }, IngestionService],
      exports: [IngestionService],
    };
  }
}
