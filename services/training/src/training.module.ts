import { Module } from '@nestjs/common';
import { ExternalModelController } from './external-model.controller';
import { ExternalModelService } from './external-model.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';
import { RegistryAccess } from './registry-access';
import { TrainingController } from './training.controller';
import { TrainingService } from './training.service';
import { FollowedRegistry } from './followed-registry';
import { TrainingStream } from './training.stream';

/** Training: runs on command, schedule and first labels, external models, operators' stage changes. Its platform providers come from the global PlatformModule. */
@Module({
  controllers: [TrainingController, ExternalModelController, ModelsController, TrainingStream],
  providers: [TrainingService, ExternalModelService, ModelsService, RegistryAccess, FollowedRegistry],
  exports: [TrainingService],
})
export class TrainingModule {}
