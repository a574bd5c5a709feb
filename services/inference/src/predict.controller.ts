import { Body, Controller, Get, HttpCode, HttpException, Inject, Param, Post } from '@nestjs/common';
import { UnknownPipelineError } from '@streamloop/runtime';
import { BadPredictRequestError, InferenceService, NoModelYetError } from './inference.service';

@Controller('v1/pipelines/:pipeline')
export class PredictController {
  constructor(@Inject(InferenceService) private readonly inference: InferenceService) {}

  @Post('predict')
  @HttpCode(200)
  async predict(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    try {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new BadPredictRequestError('expected a JSON object with "event" or "features"');
      }
      return await this.inference.predict(pipeline, body as { features?: Record<string, unknown>; event?: Record<string, unknown> });
    } catch (error) {
      throw toHttp(error);
    }
  }

  @Get('model')
  model(@Param('pipeline') pipeline: string) {
    const serving = this.inference.models.get(pipeline);
    if (!serving) throw new HttpException({ error: `pipeline ${pipeline} has no champion model yet` }, 404);
    const { onnx: _onnx, reference: _reference, ...record } = serving.record;
    return { ...record, loaded_at: serving.loadedAt };
  }
}

function toHttp(error: unknown): unknown {
  if (error instanceof UnknownPipelineError) return new HttpException({ error: error.message }, 404);
  if (error instanceof NoModelYetError) return new HttpException({ error: error.message }, 503);
  if (error instanceof BadPredictRequestError) return new HttpException({ error: error.message }, 400);
  return error;
}
