import { publishModelVersion, readRegistry } from '@streamloop/model-registry';
import type { PipelineContext, Runtime } from '@streamloop/runtime';
import type { ModelRegistryAccess } from '@streamloop/training-lib';

/** A pipeline's view of the model registry topic, as libs/training reads and publishes it. */
export function registryAccess(runtime: Runtime, ctx: PipelineContext): ModelRegistryAccess {
  return {
    read: () => readRegistry(runtime, ctx.topics.models, { pipeline: ctx.spec.pipeline }),
    publish: (record) => publishModelVersion(runtime, ctx.topics.models, record),
  };
}
