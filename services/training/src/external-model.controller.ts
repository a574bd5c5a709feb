import { RequiresScope } from '@streamloop/auth';
import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ExternalModelService } from './external-model.service';

@Controller('v1/pipelines/:pipeline/models')
export class ExternalModelController {
  constructor(@Inject(ExternalModelService) private readonly external: ExternalModelService) {}

  /**
   * Registers an ONNX classifier trained elsewhere with its input mapping; answers with its version. A request that is
   * wrong answers 400 INVALID_INPUT, a file over STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES 413 MODEL_TOO_LARGE, a file the
   * safety checks or its probe refuse 422 UNSAFE_MODEL, a model or mapping that fails its checks 400 INVALID_MODEL.
   */
  @Post('external')
  @RequiresScope('admin')
  @HttpCode(201)
  register(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    return this.external.register(pipeline, body);
  }
}
