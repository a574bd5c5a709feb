import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME, Runtime } from '@streamloop/runtime';
import { checkExternalModel, publishExternalModel, type ExternalModelResult } from '@streamloop/training-lib';
import { registryAccess } from './registry-access';

const SERVICE = 'training';

/**
 * Registers an ONNX classifier trained elsewhere (libs/training): checks it against its declared mapping and
 * publishes it to the model registry topic with algorithm 'external'.
 */
@Injectable()
export class ExternalModelService {
  /** Registrations of the same model name are serialized so two cannot take the same version. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async register(pipeline: string, body: unknown): Promise<ExternalModelResult> {
    const ctx = this.runtime.pipeline(pipeline);
    const model = await checkExternalModel(body, { spec: ctx.spec, featureNames: this.runtime.featureComputer(pipeline).featureNames });
    const deps = {
      registry: registryAccess(this.runtime, ctx),
      logger: this.runtime.logger.child({ service: SERVICE }),
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
