import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { BadPredictRequestError, InferenceService } from './inference.service';

/** REST predict and the serving model; errors answer by their code (400 INVALID_INPUT, 503 NO_MODEL_YET, …). */
@Controller('v1/pipelines/:pipeline')
export class PredictController {
  constructor(@Inject(InferenceService) private readonly inference: InferenceService) {}

  @Post('predict')
  @HttpCode(200)
  predict(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadPredictRequestError('expected a JSON object with "event" or "features"');
    }
    return this.inference.predict(pipeline, body as { features?: Record<string, unknown>; event?: Record<string, unknown>; explain?: unknown });
  }

  @Get('model')
  model(@Param('pipeline') pipeline: string) {
    const serving = this.inference.models.get(pipeline);
    if (!serving) throw new PlatformError('NOT_FOUND', `pipeline ${pipeline} has no champion model yet`);
    const { onnx: _onnx, reference: _reference, ...record } = serving.record;
    return { ...record, loaded_at: serving.loadedAt };
  }
}
