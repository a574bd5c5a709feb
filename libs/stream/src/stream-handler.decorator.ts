import { applyDecorators, Catch, Injectable, UseFilters, UseInterceptors, type CallHandler, type ExecutionContext, type NestInterceptor, type RpcExceptionFilter } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { finalize } from 'rxjs/operators';
import type { StreamContext } from './context';
import { handlerPattern, STREAM_EXTRAS_KEY, type StreamHandlerOptions } from './options';

/**
 * Hands a handler's error to the transport as it was thrown. Nest's default RPC filter would turn anything that is
 * not an RpcException into "Internal server error", and the transport must tell an outage from a bad record.
 */
@Catch()
export class PassThroughRpcFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * The stream path's metrics in one place: batch duration around the handler; records in and out, dead letters and
 * the partition's lag counted when the batch is committed, so a retried batch is counted once.
 */
@Injectable()
export class StreamMetricsInterceptor implements NestInterceptor {
  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const context = execution.switchToRpc().getContext<StreamContext>();
    const metrics = context?.metrics;
    if (!metrics) return next.handle();
    const pipeline = context.pipeline.spec.pipeline;
    const service = context.stage;
    const records = (execution.switchToRpc().getData<{ records?: unknown[] }>()?.records ?? []).length;
    // A batch narrowed down record by record runs the handler once per record: count the batch once, on its first call.
    if (context.claimMetrics()) {
      context.onCommitted((outcome) => {
        metrics.recordsIn.inc({ service, pipeline, topic: context.topic }, outcome.records);
        for (const [topic, n] of outcome.outputs) if (n > 0) metrics.recordsOut.inc({ service, pipeline, topic }, n);
        if (outcome.deadLetters > 0) metrics.deadLetters.inc({ service, pipeline, stage: service }, outcome.deadLetters);
        metrics.consumerLag.set({ service, topic: context.topic, partition: String(context.partition) }, outcome.lag);
      });
    }
    const end = records > 0 ? metrics.batchDuration.startTimer({ service, pipeline }) : undefined;
    return next.handle().pipe(finalize(() => end?.()));
  }
}

/**
 * Declares a stream handler: `@EventPattern` keyed by topic role and stage, with the mode and state as extras, the
 * metrics interceptor and the pass-through filter. The method receives `(batch: StreamBatch<T>, context: StreamContext)`;
 * use `@Payload()` and `@Ctx()` to name them.
 */
export function StreamHandler(options: StreamHandlerOptions): MethodDecorator {
  return applyDecorators(
    EventPattern(handlerPattern(options), { [STREAM_EXTRAS_KEY]: options }) as MethodDecorator,
    UseInterceptors(StreamMetricsInterceptor),
    UseFilters(PassThroughRpcFilter),
  );
}
