import { RequiresScope } from '@streamloop/auth';
import { Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { MonitoringService } from './monitoring.service';

@Controller('v1/pipelines/:pipeline/drift')
export class MonitoringController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  /** The latest drift report; POST runs the job now. */
  @Get()
  @RequiresScope('read')
  latest(@Param('pipeline') pipeline: string) {
    const report = this.monitoring.lastDriftReport(pipeline);
    if (!report) throw new PlatformError('NOT_FOUND', `no drift report yet for ${pipeline} (it needs a champion model and features)`);
    return report;
  }

  @Post()
  @RequiresScope('admin')
  async run(@Param('pipeline') pipeline: string) {
    const report = await this.monitoring.driftJob(pipeline);
    if (!report) throw new PlatformError('NOT_ENOUGH_DATA', `no drift report for ${pipeline}: it needs a champion model and features`);
    return report;
  }
}
