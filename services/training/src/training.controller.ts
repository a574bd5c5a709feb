import { Controller, HttpCode, HttpException, Inject, Param, Post } from '@nestjs/common';
import { UnknownPipelineError } from '@streamloop/runtime';
import { NotEnoughDataError, TrainingService } from './training.service';

@Controller('v1/pipelines/:pipeline')
export class TrainingController {
  constructor(@Inject(TrainingService) private readonly training: TrainingService) {}

  /** Trains, evaluates and publishes a model now; answers with its version and held-out metrics. */
  @Post('train')
  @HttpCode(201)
  async train(@Param('pipeline') pipeline: string) {
    try {
      return await this.training.train(pipeline, 'on command (HTTP)');
    } catch (error) {
      if (error instanceof UnknownPipelineError) throw new HttpException({ error: error.message }, 404);
      if (error instanceof NotEnoughDataError) throw new HttpException({ error: error.message }, 409);
      throw error;
    }
  }
}
