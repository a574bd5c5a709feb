import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ErrorCodes, SchemaRegistryError } from '@streamloop/registry';
import { toPlatformError } from '@streamloop/stream';
import { REGISTRY_CONTENT_TYPE } from './tokens';

interface HttpResponse {
  status(code: number): HttpResponse;
  setHeader(name: string, value: string): void;
  send(body: string): void;
  headersSent?: boolean;
}

/**
 * Every failure as Confluent's { error_code, message } with its HTTP status — the one exception to the platform's
 * error body, because Confluent clients parse this shape. A registry error keeps its Confluent error code; anything
 * else is classified like everywhere (toPlatformError) and its error code is the HTTP status (as Confluent's
 * registry does for 400, 404, 415), or 50001 for an unexpected error, whose stack goes to the log only.
 */
@Catch()
export class RegistryErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('SchemaRegistry');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<HttpResponse>();
    let status: number;
    let body: { error_code: number; message: string };
    if (error instanceof SchemaRegistryError) {
      status = error.status;
      body = { error_code: error.errorCode, message: error.message };
    } else {
      const platform = toPlatformError(error);
      status = platform.status;
      if (platform.code === 'INTERNAL') {
        this.logger.error(error instanceof Error ? error.stack ?? error.message : String(error));
        body = { error_code: ErrorCodes.STORE_ERROR, message: 'internal error (the registry logged it)' };
      } else if (platform.code === 'UNAUTHORIZED' || platform.code === 'FORBIDDEN') {
        // Confluent's registry answers these with its own error codes, which its clients show.
        body = { error_code: platform.code === 'UNAUTHORIZED' ? ErrorCodes.UNAUTHORIZED : ErrorCodes.FORBIDDEN, message: platform.message };
      } else {
        body = { error_code: status, message: platform.message };
      }
    }
    if (res.headersSent) return;
    res.status(status);
    res.setHeader('Content-Type', REGISTRY_CONTENT_TYPE);
    res.send(JSON.stringify(body));
  }
}
