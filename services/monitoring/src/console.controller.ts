import { Controller, Get, Inject, Param, Query, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import { PublicAsset, RequiresScope } from '@streamloop/auth';
import { AvroSerde } from '@streamloop/avro';
import type { Settings } from '@streamloop/config';
import {
  CONSOLE_CSP, consoleAsset, deadLetterView, driftSeries, experimentRuns, followTopic, modelHistory, performanceSeries, pipelineLag, readTopicTail, sseEvent,
} from '@streamloop/console';
import type { DeadLetterRecord, PredictionRecord } from '@streamloop/contracts';
import { PlatformError } from '@streamloop/errors';
import type { Kafka } from '@streamloop/kafka';
import type { Logger } from '@streamloop/observability';
import { ClickHouseConnection, KAFKA, LOGGER, PipelineRegistry, PLATFORM_TYPES, SETTINGS, type PlatformTypes } from '@streamloop/runtime';

/** The parts of Express' request and response the console uses. */
interface HttpRequest {
  path: string;
  originalUrl: string;
  on(event: 'close', listener: () => void): void;
}
interface HttpResponse {
  setHeader(name: string, value: string): void;
  status(code: number): HttpResponse;
  redirect(status: number, url: string): void;
  send(body: Buffer | string): void;
  write(chunk: string): boolean;
  end(): void;
  flushHeaders(): void;
}

/** Most DLQ records shown per partition. */
const MAX_DLQ_PER_PARTITION = 500;

function positiveInt(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new PlatformError('INVALID_INPUT', `${name}: expected an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function sinceOf(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new PlatformError('INVALID_INPUT', `since: expected epoch milliseconds (an integer ≥ 0), got ${JSON.stringify(value)}`);
  return n;
}

/**
 * The web console (`/console/`): its static page, and the JSON and server-sent-event endpoints under `/v1/console`
 * it reads besides the services' own API (models on the training target, drift on this one). The logic is
 * @streamloop/console's; this controller only wires it to the platform's clients.
 */
@Controller()
@RequiresScope('read')
export class ConsoleController implements OnModuleDestroy {
  private readonly logger: Logger;
  /** The open prediction streams: ended when the application closes, which would otherwise wait for their clients. */
  private readonly streams = new Set<() => void>();

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(ClickHouseConnection) private readonly clickhouse: ClickHouseConnection,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(AvroSerde) private readonly serde: AvroSerde,
    @Inject(PLATFORM_TYPES) private readonly types: PlatformTypes,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ service: 'console' });
  }

  onModuleDestroy(): void {
    for (const end of [...this.streams]) end();
  }

  /** `/console/` is the page; `/console` (Express matches both here) is sent there, so its relative links resolve. */
  @Get('console')
  @PublicAsset()
  index(@Req() req: HttpRequest, @Res() res: HttpResponse): void {
    if (req.path.endsWith('/')) this.sendAsset(res, 'index.html');
    else {
      // Relative, so that it also holds behind a proxy that serves the platform under a prefix.
      const query = req.originalUrl.indexOf('?');
      res.redirect(308, `console/${query < 0 ? '' : req.originalUrl.slice(query)}`);
    }
  }

  @Get('console/:asset')
  @PublicAsset()
  asset(@Param('asset') name: string, @Res() res: HttpResponse): void {
    this.sendAsset(res, name);
  }

  private sendAsset(res: HttpResponse, name: string): void {
    const asset = consoleAsset(name);
    if (!asset) throw new PlatformError('NOT_FOUND', `the console has no file ${JSON.stringify(name)}`);
    res.setHeader('content-type', asset.contentType);
    res.setHeader('content-security-policy', CONSOLE_CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-cache');
    res.send(asset.body);
  }

  /** The pipelines this process runs, with their topics by role. */
  @Get('v1/console/pipelines')
  list() {
    return {
      pipelines: [...this.pipelines.values()].map((ctx) => ({
        pipeline: ctx.spec.pipeline,
        model: ctx.spec.model.name,
        topics: this.topicsOf(ctx.spec.pipeline),
      })),
    };
  }

  private topicsOf(pipeline: string): Record<string, string> {
    const t = this.pipelines.pipeline(pipeline).topics;
    return { raw: t.raw, events: t.events, features: t.features, predictions: t.predictions, shadow: t.shadow, labels: t.labels, alerts: t.alerts, dlq: t.dlq, models: t.models };
  }

  /** Each topic's size and each stage's consumer lag on it (Kafka's admin API). */
  @Get('v1/console/pipelines/:pipeline/lag')
  lag(@Param('pipeline') pipeline: string) {
    return pipelineLag(this.kafka, this.topicsOf(pipeline));
  }

  @Get('v1/console/pipelines/:pipeline/drift')
  async drift(@Param('pipeline') pipeline: string, @Query('since') since?: string, @Query('limit') limit?: string) {
    this.pipelines.pipeline(pipeline);
    return { points: await driftSeries(await this.clickhouse.client(), pipeline, this.seriesOptions(since, limit)) };
  }

  @Get('v1/console/pipelines/:pipeline/performance')
  async performance(@Param('pipeline') pipeline: string, @Query('since') since?: string, @Query('limit') limit?: string) {
    this.pipelines.pipeline(pipeline);
    return { points: await performanceSeries(await this.clickhouse.client(), pipeline, this.seriesOptions(since, limit)) };
  }

  @Get('v1/console/pipelines/:pipeline/experiments')
  async experiments(@Param('pipeline') pipeline: string, @Query('since') since?: string, @Query('limit') limit?: string) {
    this.pipelines.pipeline(pipeline);
    return { runs: await experimentRuns(await this.clickhouse.client(), pipeline, this.seriesOptions(since, limit)) };
  }

  /** The audit trail of stage changes (model_events, mirrored from the registry topic by this target's sink). */
  @Get('v1/console/pipelines/:pipeline/model-history')
  async history(@Param('pipeline') pipeline: string, @Query('limit') limit?: string) {
    this.pipelines.pipeline(pipeline);
    return { events: await modelHistory(await this.clickhouse.client(), pipeline, this.seriesOptions(undefined, limit)) };
  }

  private seriesOptions(since: string | undefined, limit: string | undefined) {
    return { since: sinceOf(since), limit: positiveInt(limit, 'limit', 5000, 100_000), database: this.settings.clickhouseDatabase };
  }

  /** The last records of the pipeline's DLQ topic (read_committed), newest first, with reasons and original bytes. */
  @Get('v1/console/pipelines/:pipeline/dlq')
  async deadLetters(@Param('pipeline') pipeline: string, @Query('limit') limit?: string) {
    const topic = this.pipelines.pipeline(pipeline).topics.dlq;
    const perPartition = positiveInt(limit, 'limit', 50, MAX_DLQ_PER_PARTITION);
    const decode = async (value: Buffer) => (await this.serde.decode<DeadLetterRecord>(value, this.types.deadLetter)).value;
    const records = await readTopicTail(this.kafka, topic, perPartition);
    const views = await Promise.all(records.map((r) => deadLetterView(r, decode)));
    views.sort((a, b) => b.dlq.timestamp - a.dlq.timestamp);
    return { topic, records: views };
  }

  /**
   * The pipeline's predictions as they are committed, as server-sent events (`event: ready` once the reader has its
   * partitions, then one `prediction` event a record), until the client goes away. A GET that a browser reads with
   * fetch() (so it can carry an Authorization header, which EventSource cannot).
   */
  @Get('v1/console/pipelines/:pipeline/predictions/stream')
  async predictions(@Param('pipeline') pipeline: string, @Req() req: HttpRequest, @Res() res: HttpResponse): Promise<void> {
    const topic = this.pipelines.pipeline(pipeline).topics.predictions;
    let open = false;
    let closed = false;
    // The reader starts before the answer does: a Kafka failure here is still an ordinary error answer (503).
    const feed = await followTopic(this.kafka, topic, async (record) => {
      if (!open || closed) return;
      const { value } = await this.serde.decode<PredictionRecord>(record.value, this.types.prediction);
      res.write(sseEvent({ partition: record.partition, offset: record.offset, timestamp: record.timestamp, ...value }, 'prediction'));
    }, (error) => {
      this.logger.warn({ err: error, pipeline }, 'console prediction stream');
      if (open && !closed) res.write(sseEvent({ message: String((error as Error)?.message ?? error) }, 'error'));
    });
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    open = true;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    heartbeat.unref();
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      this.streams.delete(end);
      void feed.stop();
    };
    const end = () => {
      close();
      res.end();
    };
    this.streams.add(end);
    req.on('close', close);
    await feed.ready;
    if (!closed) res.write(sseEvent({ topic }, 'ready'));
  }
}
