import { Body, Controller, Get, Inject, Param, Post, Query } from '@nestjs/common';
import { ModelsService, parseVersion } from './models.service';

/** The model registry for operators: `streamloop models list|show|promote|archive|rollback` calls these. */
@Controller('v1/pipelines/:pipeline/models')
export class ModelsController {
  constructor(@Inject(ModelsService) private readonly models: ModelsService) {}

  /** Every version of the pipeline's models with its stage, whether it serves, and who decided its stage when and why. */
  @Get()
  list(@Param('pipeline') pipeline: string) {
    return this.models.list(pipeline);
  }

  /** The champion serves no more: it is rejected, and the newest earlier champion serves again (409 if none). */
  @Post('rollback')
  rollback(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    return this.models.transition(pipeline, 'rollback', undefined, body);
  }

  /** One version's record (without the model bytes); `?model=` when two models share the number. */
  @Get(':version')
  show(@Param('pipeline') pipeline: string, @Param('version') version: string, @Query('model') model?: string) {
    return this.models.show(pipeline, parseVersion(version), model || undefined);
  }

  /** The version becomes champion and serves, or with `{"to": "challenger"}` scores beside the champion. */
  @Post(':version/promote')
  promote(@Param('pipeline') pipeline: string, @Param('version') version: string, @Body() body: unknown) {
    return this.models.transition(pipeline, 'promote', parseVersion(version), body);
  }

  /** The version is retired; the serving champion only if an earlier champion remains to serve. */
  @Post(':version/archive')
  archive(@Param('pipeline') pipeline: string, @Param('version') version: string, @Body() body: unknown) {
    return this.models.transition(pipeline, 'archive', parseVersion(version), body);
  }
}
