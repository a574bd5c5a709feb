import { Controller, Get, HttpException, Inject, Param, Post } from '@nestjs/common';
import { UnknownPipelineError } from '@streamloop/runtime';
import { MonitoringService } from './monitoring.service';

@Controller('v1/pipelines/:pipeline/drift')
export class MonitoringController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  /** The latest drift report; POST runs the job now. */
  @Get()
  latest(@Param('pipeline') pipeline: string) {
    const report = this.monitoring.lastDriftReport(pipeline);
    if (!report) throw new HttpException({ error: `no drift report yet for ${pipeline} (it needs a champion model and features)` }, 404);
    return report;
  }

  @Post()
  async run(@Param('pipeline') pipeline: string) {
    try {
      const report = await this.monitoring.driftJob(pipeline);
      if (!report) throw new HttpException({ error: `no drift report for ${pipeline}: it needs a champion model and features` }, 409);
      return report;
    } catch (error) {
      if (error instanceof UnknownPipelineError) throw new HttpException({ error: error.message }, 404);
      throw error;
    }
  }
}
