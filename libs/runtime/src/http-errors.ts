import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Catch, Injectable, type ArgumentsHost, type CanActivate, type ExceptionFilter, type ExecutionContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AuthGuard, type AuthPolicy } from '@streamloop/auth';
import { errorBody, PlatformError } from '@streamloop/errors';
import type { Logger } from '@streamloop/observability';
import { toPlatformError } from '@streamloop/stream';

/** What an unexpected error says to the client: the message and the stack stay in the service's log. */
export const INTERNAL_ERROR_MESSAGE = 'internal error (the service logged it)';

/** The media types the platform's JSON endpoints read: application/json and any application/*+json. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
}

/** Whether a request carries a body to read: a transfer encoding, or a length above zero. */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

/**
 * 415 UNSUPPORTED_MEDIA_TYPE for a request body that is not JSON. The JSON body parser passes over other media types
 * without a word, so without this a form or text body would reach a handler as "no body" and be answered 400.
 * Runs on matched routes only: an unknown route stays 404. Every platform endpoint reads JSON or nothing; one that
 * reads another media type would have to be exempted here.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const { headers } = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>();
    if (hasRequestBody(headers) && !isJsonMediaType(headers['content-type'])) {
      throw new PlatformError('UNSUPPORTED_MEDIA_TYPE', `a request body of type ${headers['content-type'] ?? '(none given)'} is not read here; send application/json`);
    }
    return true;
  }
}

/** Requests whose URL matches `route` take JSON bodies up to `limit` bytes instead of the app's body limit. */
export interface LargeBodyRoute {
  route: RegExp;
  limit: number;
}

/**
 * The platform's HTTP conventions on an app (every target's, through serveModules): every route checked by the
 * AuthGuard (its declared scope, a token with it: 401/403 before anything else), JSON bodies up to `bodyLimit`
 * (over it: 413), other body types refused with 415, and one error body for every error (docs/errors.md).
 */
export function useJsonHttp(app: NestExpressApplication, options: { bodyLimit: string | number; logger: Logger; largeBodies?: LargeBodyRoute; auth: AuthPolicy }): void {
  const { largeBodies } = options;
  const isLarge = (req: IncomingMessage) => largeBodies !== undefined && largeBodies.route.test(req.url ?? '');
  // One route may take larger bodies (an ONNX model in base64); the first parser that takes a request reads it.
  if (largeBodies) app.useBodyParser('json', { limit: largeBodies.limit, type: (req: IncomingMessage) => isLarge(req) && isJsonMediaType(req.headers['content-type']) });
  // The parser reads exactly what the guard lets through, so a body is either parsed or refused, never dropped.
  app.useBodyParser('json', { limit: options.bodyLimit, type: (req: IncomingMessage) => !isLarge(req) && isJsonMediaType(req.headers['content-type']) });
  app.useGlobalFilters(new HttpErrorFilter(options.logger));
  app.useGlobalGuards(new AuthGuard(options.auth), new JsonBodyGuard());
}

/** The part of Express's request and response the filter uses. */
interface HttpRequest {
  method?: string;
  url?: string;
}
interface HttpResponse {
  headersSent?: boolean;
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

/**
 * Every error of every platform endpoint as one JSON body, `{ "error": { "code", "message", "status", "details"? } }`,
 * with the code's status: the platform's own errors as they are, everything else through toPlatformError (malformed
 * JSON, a body over the limit, an unknown route, kafkajs and network failures). An error nobody expected is 500
 * INTERNAL with a fixed message; its stack goes to the log, never to the client.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<HttpResponse>();
    const req = http.getRequest<HttpRequest>();
    const platform = toPlatformError(error);
    const unexpected = platform.code === 'INTERNAL' && !(error instanceof PlatformError);
    if (platform.status >= 500) {
      this.logger[unexpected ? 'error' : 'warn']({ err: error, code: platform.code, method: req.method, url: req.url }, 'request failed');
    }
    if (res.headersSent) return;
    res.status(platform.status).json(errorBody(platform, unexpected ? INTERNAL_ERROR_MESSAGE : platform.message));
  }
}
