import { Inject, Injectable } from '@nestjs/common';
import { featureNamesOf, type Settings } from '@streamloop/config';
import type { Logger } from '@streamloop/observability';
import { LOGGER, PipelineRegistry, SETTINGS } from '@streamloop/runtime';
import { checkExternalModel, publishExternalModel, type ExternalModelResult } from '@streamloop/training-lib';
import { RegistryAccess } from './registry-access';

const SERVICE = 'training';

/**
 * Registers an ONNX classifier trained elsewhere (libs/training): admits the untrusted file (size, contents, one probe
 * in a limited child process), checks it against its declared mapping and publishes it to the model registry topic
 * with algorithm 'external'.
 */
@Injectable()
export class ExternalModelService {
  /** Registrations of the same model name are serialized so two cannot take the same version. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(RegistryAccess) private readonly registries: RegistryAccess,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async register(pipeline: string, body: unknown): Promise<ExternalModelResult> {
    const ctx = this.pipelines.pipeline(pipeline);
    const model = await checkExternalModel(body, { spec: ctx.spec, featureNames: featureNamesOf(ctx.spec.features) }, {
      maxBytes: this.settings.externalModelMaxBytes,
      probe: { memoryMb: this.settings.modelProbeMemoryMb, timeoutMs: this.settings.modelProbeTimeoutMs },
    });
    const deps = {
      registry: this.registries.of(ctx),
      logger: this.logger.child({ service: SERVICE }),
      now: Date.now,
    };
    const queueKey = `${ctx.spec.pipeline}/${model.name}`;
    const previous = this.queues.get(queueKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => publishExternalModel(deps, model));
    this.queues.set(queueKey, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(queueKey) === run) this.queues.delete(queueKey);
    }
  }
}
