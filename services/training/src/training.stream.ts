import { Controller, Inject, Injectable } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  emptyRegistry, foldRegistry, pipelineOfMessage, registryMessageOf, type ModelRegistryRecord, type RegistryMessage, type RegistryState,
} from '@streamloop/model-registry';
import { StreamHandler, type StreamBatch, type StreamContext } from '@streamloop/stream';

/** The model registry as this training process has followed it, per pipeline (what the online review reads). */
@Injectable()
export class FollowedRegistry {
  private readonly states = new Map<string, RegistryState>();

  of(pipeline: string): RegistryState {
    return this.states.get(pipeline) ?? emptyRegistry();
  }

  fold(pipeline: string, messages: RegistryMessage[]): void {
    this.states.set(pipeline, foldRegistry(this.of(pipeline), messages));
  }
}

/**
 * Follows the registry topic (every instance reads all of it, as inference does) so the online review of challengers
 * needs no read of the whole topic each time; stage changes are still planned on a fresh read (ModelsService).
 */
@Controller()
export class TrainingStream {
  constructor(@Inject(FollowedRegistry) private readonly registry: FollowedRegistry) {}

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
