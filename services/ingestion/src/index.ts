export { IngestionModule } from './ingestion.module';
export { IngestionService, InvalidEventError, type HttpIngestResult } from './ingestion.service';
