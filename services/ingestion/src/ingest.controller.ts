import { RequiresScope } from '@streamloop/auth';
import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { InvalidEventError } from './identify';
import { IngestionService } from './ingestion.service';

@Controller('v1/pipelines/:pipeline/events')
export class IngestController {
  constructor(@Inject(IngestionService) private readonly ingestion: IngestionService) {}

  /**
   * One event object or an array of them, as JSON. 202 when all were accepted; 400 INVALID_EVENT with the reasons per
   * record in `details.rejected` otherwise (none is published then). Other errors answer by their code.
   */
  @Post()
  @RequiresScope('ingest')
  @HttpCode(202)
  async ingest(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    const result = await this.ingestion.ingestJson(pipeline, body);
    if (result.rejected.length > 0) throw new InvalidEventError('invalid events; none were accepted', { details: { rejected: result.rejected } });
    return result;
  }
}
