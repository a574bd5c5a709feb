import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { SchemaRegistryError } from '@streamloop/registry';
import { REGISTRY_CONTENT_TYPE } from './tokens';

interface HttpResponse {
  status(code: number): HttpResponse;
  setHeader(name: string, value: string): void;
  send(body: string): void;
  headersSent?: boolean;
}

/** Every failure as Confluent's { error_code, message } with its HTTP status. */
@Catch()
export class RegistryErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('SchemaRegistry');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<HttpResponse>();
    let status = 500;
    let body: { error_code: number; message: string };
    if (error instanceof SchemaRegistryError) {
      status = error.status;
      body = { error_code: error.errorCode, message: error.message };
    } else if (error instanceof HttpException) {
      status = error.getStatus();
      const r = error.getResponse();
      const message = typeof r === 'string' ? r : (r as { message?: unknown }).message;
      body = { error_code: status, message: Array.isArray(message) ? message.join('; ') : String(message ?? error.message) };
    } else if (isBodyParserError(error)) {
      // express's JSON parser: malformed JSON (400) or a body over the limit (413).
      status = error.status;
      body = { error_code: status, message: status === 413 ? `request body larger than the limit (${error.limit ?? '?'} bytes)` : `invalid JSON body: ${error.message}` };
    } else {
      this.logger.error(error instanceof Error ? error.stack ?? error.message : String(error));
      body = { error_code: 50001, message: `internal error: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (res.headersSent) return;
    res.status(status);
    res.setHeader('Content-Type', REGISTRY_CONTENT_TYPE);
    res.send(JSON.stringify(body));
  }
}

function isBodyParserError(e: unknown): e is { status: number; message: string; limit?: number } {
  return typeof e === 'object' && e !== null && typeof (e as { status?: unknown }).status === 'number' && typeof (e as { type?: unknown }).type === 'string';
}
