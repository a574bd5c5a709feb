import type { IncomingHttpHeaders } from 'node:http';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { REGISTRY_REQUEST_TYPES } from './tokens';

/** A request's media type without its parameters, lower-cased ('application/json; charset=utf-8' → 'application/json'). */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  return type || undefined;
}

/**
 * A request body of another media type than the registry reads is 415, as Confluent's registry answers it; the body
 * parser passes over such a body silently, and the request would otherwise fail later as an invalid schema.
 */
@Injectable()
export class RegistryRequestTypeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>();
    const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
    const type = mediaTypeOf(headers['content-type']);
    if (hasBody && (type === undefined || !REGISTRY_REQUEST_TYPES.includes(type))) {
      throw new PlatformError('UNSUPPORTED_MEDIA_TYPE', `HTTP 415 Unsupported Media Type: ${type ?? 'no Content-Type'}; send ${REGISTRY_REQUEST_TYPES.join(', ')}`);
    }
    return true;
  }
}
