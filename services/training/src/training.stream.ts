import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { pipelineOfMessage, registryMessageOf, type ModelRegistryRecord, type RegistryMessage } from '@streamloop/model-registry';
import type { AlertRecord } from '@streamloop/runtime';
import { StreamHandler, type StreamBatch, type StreamContext } from '@streamloop/stream';
import { FollowedRegistry } from './followed-registry';
import { TrainingService } from './training.service';

/**
 * Follows the registry topic (every instance reads all of it, as inference does) so the online review of challengers
 * and the retraining policy need no read of the whole topic each time; stage changes are still planned on a fresh
 * read (ModelsService). Consumes the pipeline's alerts: each one is a trigger the retraining policy decides on.
 */
@Controller()
export class TrainingStream {
  constructor(
    @Inject(FollowedRegistry) private readonly registry: FollowedRegistry,
    @Inject(TrainingService) private readonly training: TrainingService,
  ) {}

  /**
   * At least once: an alert redelivered after a crash is decided again (the cooldown, restored from
   * retraining_decisions, keeps it from starting a second run). A decision never fails the batch but for an outage.
   */
  @StreamHandler({ role: 'alerts', mode: 'at-least-once', stage: 'training', deadLetterStage: 'training.alerts' })
  async alerts(@Payload() batch: StreamBatch<AlertRecord>, @Ctx() context: StreamContext): Promise<void> {
    const pipeline = context.pipeline.spec.pipeline;
    for (const record of batch.records) {
      if (record.error || !record.value) {
        context.deadLetter(record, record.error ?? new Error('record has no value'));
        continue;
      }
      await this.training.onAlert(pipeline, record.value);
    }
  }

  @StreamHandler({ role: 'models', mode: 'broadcast', stage: 'training' })
  follow(@Payload() batch: StreamBatch<ModelRegistryRecord>, @Ctx() context: StreamContext): void {
    const pipeline = context.pipeline.spec.pipeline;
    const messages: RegistryMessage[] = [];
    for (const record of batch.records) {
      // Unreadable and refused records are inference's to report; here they only take their version number.
      const message = registryMessageOf(record.source, record.value);
      if (message && pipelineOfMessage(message) === pipeline) messages.push(message);
    }
    if (messages.length > 0) this.registry.fold(pipeline, messages);
  }
}
