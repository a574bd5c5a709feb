import { Controller, Get, Inject, Module, Res, type DynamicModule } from '@nestjs/common';
import { RUNTIME } from './tokens';
import type { Runtime } from './runtime';

/** The part of Express's response used here (the platform runs on @nestjs/platform-express). */
interface HttpResponse {
  status(code: number): HttpResponse;
  type(contentType: string): HttpResponse;
  send(body: string): void;
  json(body: unknown): void;
}

/** /metrics (Prometheus text format, the process's own registry) and /health for every target. */
@Controller()
class PlatformController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Get('metrics')
  async metrics(@Res() res: HttpResponse): Promise<void> {
    const { contentType, body } = await this.runtime.metrics.exposition();
    res.status(200).type(contentType).send(body);
  }

  @Get('health')
  health(@Res() res: HttpResponse): void {
    const report = this.runtime.health.report();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  }
}

@Module({})
export class PlatformModule {
  static register(runtime: Runtime): DynamicModule {
    return { module: PlatformModule, controllers: [PlatformController], providers: [{ provide: RUNTIME, useValue: runtime }] };
  }
}
