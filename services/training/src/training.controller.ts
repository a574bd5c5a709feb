import { RequiresScope } from '@streamloop/auth';
import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { TrainingService } from './training.service';

@Controller('v1/pipelines/:pipeline')
export class TrainingController {
  constructor(@Inject(TrainingService) private readonly training: TrainingService) {}

  /** Trains, evaluates and publishes a model now; answers with its version and held-out metrics (409 NOT_ENOUGH_DATA). */
  @Post('train')
  @RequiresScope('admin')
  @HttpCode(201)
  train(@Param('pipeline') pipeline: string) {
    return this.training.train(pipeline, 'on command (HTTP)');
  }

  /** The latest retraining decisions, newest first: each trigger (alert, schedule, command) and what training did with it. */
  @Get('retraining')
  @RequiresScope('read')
  retraining(@Param('pipeline') pipeline: string) {
    return this.training.decisions(pipeline);
  }
}
