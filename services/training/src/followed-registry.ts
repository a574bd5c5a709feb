import { Injectable } from '@nestjs/common';
import { emptyRegistry, foldRegistry, type RegistryMessage, type RegistryState } from '@streamloop/model-registry';

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
