import { Body, Controller, HttpCode, HttpException, Inject, Param, Post } from '@nestjs/common';
import { UnknownPipelineError } from '@streamloop/runtime';
import { IngestionService } from './ingestion.service';

@Controller('v1/pipelines/:pipeline/events')
export class IngestController {
  constructor(@Inject(IngestionService) private readonly ingestion: IngestionService) {}

  /** One event object or an array of them, as JSON. 202 when all were accepted; 400 with reasons otherwise. */
  @Post()
  @HttpCode(202)
  async ingest(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    try {
      const result = await this.ingestion.ingestJson(pipeline, body);
      if (result.rejected.length > 0) {
        throw new HttpException({ error: 'invalid events; none were accepted', ...result }, 400);
      }
      return result;
    } catch (error) {
      if (error instanceof UnknownPipelineError) throw new HttpException({ error: error.message }, 404);
      throw error;
    }
  }
}
