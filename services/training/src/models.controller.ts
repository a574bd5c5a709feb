import { RequiresScope } from '@streamloop/auth';
import { Body, Controller, Get, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ModelsService, parseCardFormat, parseVersion } from './models.service';

/** The model registry for operators: `streamloop models list|show|promote|archive|rollback` calls these. */
@Controller('v1/pipelines/:pipeline/models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  /** Every version of the pipeline's models with its stage, whether it serves, and who decided its stage when and why. */
  @Get()
  @RequiresScope('read')
  list(@Param('pipeline') pipeline: string) {
    return this.models.list(pipeline);
  }

  /** The champion serves no more: it is rejected, and the newest earlier champion serves again (409 if none). */
  @Post('rollback')
  @RequiresScope('admin')
  rollback(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    return this.models.transition(pipeline, 'rollback', undefined, body);
  }

  /** One version's record (without the model bytes); `?model=` when two models share the number. */
  @Get(':version')
  @RequiresScope('read')
  show(@Param('pipeline') pipeline: string, @Param('version') version: string, @Query('model') model?: string) {
    return this.models.show(pipeline, parseVersion(version), model || undefined);
  }

  /**
   * The version's model card: `?format=md` (default, text/markdown), `html` (one self-contained page) or `json` (the
   * card's data); `?model=` when two models share the number.
   */
  @Get(':version/card')
  @RequiresScope('read')
  async card(
    @Param('pipeline') pipeline: string, @Param('version') version: string, @Query('format') format: string | undefined, @Query('model') model: string | undefined,
    @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void },
  ) {
    const answer = await this.models.card(pipeline, parseVersion(version), model || undefined, parseCardFormat(format));
    res.setHeader('content-type', answer.contentType);
    // Nothing on the page is fetched or run, even if a browser were told otherwise by the text it shows.
    if (answer.contentType.startsWith('text/html')) res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    return answer.body;
  }

  /** The version becomes champion and serves, or with `{"to": "challenger"}` scores beside the champion. */
  @Post(':version/promote')
  @RequiresScope('admin')
  promote(@Param('pipeline') pipeline: string, @Param('version') version: string, @Body() body: unknown) {
    return this.models.transition(pipeline, 'promote', parseVersion(version), body);
  }

  /** The version is retired; the serving champion only if an earlier champion remains to serve. */
  @Post(':version/archive')
  @RequiresScope('admin')
  archive(@Param('pipeline') pipeline: string, @Param('version') version: string, @Body() body: unknown) {
    return this.models.transition(pipeline, 'archive', parseVersion(version), body);
  }
}
