import { Body, Controller, HttpCode, HttpException, Inject, Param, Post } from '@nestjs/common';
import { OnnxModelError } from '@streamloop/ml';
import { UnknownPipelineError } from '@streamloop/runtime';
import { BadExternalModelError, ExternalModelService } from './external-model.service';

@Controller('v1/pipelines/:pipeline/models')
export class ExternalModelController {
  constructor(@Inject(ExternalModelService) private readonly external: ExternalModelService) {}

  /** Registers an ONNX classifier trained elsewhere with its input mapping; answers with its version. */
  @Post('external')
  @HttpCode(201)
  async register(@Param('pipeline') pipeline: string, @Body() body: unknown) {
    try {
      return await this.external.register(pipeline, body);
    } catch (error) {
      if (error instanceof UnknownPipelineError) throw new HttpException({ error: error.message }, 404);
      // OnnxModelError covers ExternalModelError: the model or its mapping is what is wrong.
      if (error instanceof BadExternalModelError || error instanceof OnnxModelError) throw new HttpException({ error: error.message }, 400);
      throw error;
    }
  }
}
