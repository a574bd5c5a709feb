import { Inject, Injectable } from '@nestjs/common';
import { AvroSerde } from '@streamloop/avro';
import type { Kafka } from '@streamloop/kafka';
import { publishModelVersion, readRegistry, type RegistryIo } from '@streamloop/model-registry';
import { KAFKA, PLATFORM_TYPES, SharedProducer, type PipelineContext, type PlatformTypes } from '@streamloop/runtime';
import type { ModelRegistryAccess } from '@streamloop/training-lib';

/** The model registry topics as training reads and publishes them: the platform's Kafka client, serde and producer. */
@Injectable()
export class RegistryAccess {
  private readonly io: RegistryIo;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(AvroSerde) serde: AvroSerde,
    @Inject(SharedProducer) producer: SharedProducer,
    @Inject(PLATFORM_TYPES) types: PlatformTypes,
  ) {
    this.io = { kafka, serde, types, producer: () => producer.producer() };
  }

  /** A pipeline's view of the model registry topic, as libs/training reads and publishes it. */
  of(ctx: PipelineContext): ModelRegistryAccess {
    return {
      read: () => readRegistry(this.io, ctx.topics.models, { pipeline: ctx.spec.pipeline }),
      publish: (record) => publishModelVersion(this.io, ctx.topics.models, record),
    };
  }
}
