import { Module } from '@nestjs/common';
import { DedupStateFactory } from './dedup-state';
import { IngestController } from './ingest.controller';
import { IngestionService } from './ingestion.service';
import { IngestionStream } from './ingestion.stream';

/** Ingestion: HTTP ingest and the raw → events stream. Its platform providers come from the global PlatformModule. */
@Module({
  controllers: [IngestController, IngestionStream],
  providers: [IngestionService, DedupStateFactory],
  exports: [IngestionService],
})
export class IngestionModule {}
