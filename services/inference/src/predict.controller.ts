import { RequiresScope } from '@streamloop/auth';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { ANSWERED_BY_HEADER, FORWARDED_BY_HEADER, PredictRouter, type PredictRouting } from '@streamloop/runtime';
import { BadPredictRequestError, InferenceService } from './inference.service';

/** REST predict and the serving model; errors answer by their code (400 INVALID_INPUT, 503 NO_MODEL_YET, …). */
@Controller('v1/pipelines/:pipeline')
export class PredictController {
  constructor(
    @Inject(InferenceService) private readonly inference: InferenceService,
    @Inject(PredictRouter) private readonly router: PredictRouter,
  ) {}

  @Post('predict')
  @RequiresScope('predict')
  @HttpCode(200)
  async predict(
    @Param('pipeline') pipeline: string, @Body() body: unknown,
    @Headers(FORWARDED_BY_HEADER) forwardedBy: string | undefined, @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void },
  ) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadPredictRequestError('expected a JSON object with "event" or "features"');
    }
    // An event whose feature state another instance owns is answered by that instance (PredictRouter); the header says who.
    const routing: PredictRouting = {
      ...(forwardedBy === undefined ? {} : { forwardedBy }),
      ...(authorization === undefined ? {} : { authorization }),
    };
    const result = await this.inference.predict(pipeline, body as { features?: Record<string, unknown>; event?: Record<string, unknown>; explain?: unknown }, routing);
    const answeredBy = routing.answeredBy ?? this.router.self;
    if (answeredBy) res.setHeader(ANSWERED_BY_HEADER, answeredBy);
    return result;
  }

  @Get('model')
  @RequiresScope('read')
  model(@Param('pipeline') pipeline: string) {
    const serving = this.inference.models.get(pipeline);
    if (!serving) throw new PlatformError('NOT_FOUND', `pipeline ${pipeline} has no champion model yet`);
    const { onnx: _onnx, reference: _reference, ...record } = serving.record;
    return { ...record, loaded_at: serving.loadedAt };
  }
}
