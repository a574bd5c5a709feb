import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { RequiresScope } from '@streamloop/auth';
import { parseReportQuery, REPORT_CSP } from '@streamloop/report';
import { MonitoringService } from './monitoring.service';

/** The drift and performance report: `streamloop report` calls this. */
@Controller('v1/pipelines/:pipeline/report')
@RequiresScope('read')
export class ReportController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  /** `?from=&to=` (ISO 8601 event times; default: the latest monitoring window), `?format=html` (default, one self-contained page) or `json`. */
  @Get()
  async report(
    @Param('pipeline') pipeline: string, @Query() query: Record<string, string | undefined>,
    @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void },
  ) {
    const answer = await this.monitoring.report(pipeline, parseReportQuery(query));
    res.setHeader('content-type', answer.contentType);
    // The page runs its own inline scripts (Chart.js and the drawing code) and fetches nothing.
    if (answer.contentType.startsWith('text/html')) res.setHeader('content-security-policy', REPORT_CSP);
    return answer.body;
  }
}
