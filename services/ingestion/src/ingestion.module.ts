import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME, type Runtime } from '@streamloop/runtime';
import { DedupStateFactory } from './dedup-state';
import { IngestController } from './ingest.controller';
import { IngestionService } from './ingestion.service';
import { IngestionStream } from './ingestion.stream';

@Module({})
export class IngestionModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: IngestionModule,
      controllers: [IngestController, IngestionStream],
      providers: [{ provide: RUNTIME, useValue: runtime }, IngestionService, DedupStateFactory],
      exports: [IngestionService],
    };
  }
}
