import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PlatformError } from '@streamloop/errors';
import { grants, type Scope } from './scopes';
import type { Principal, TokenStore } from './tokens';

/** Metadata key of a route's declared scope. */
export const REQUIRED_SCOPE = 'streamloop:required-scope';
/** The declared "scope" of /health and /metrics: open, or `read`, as the settings say (STREAMLOOP_AUTH_OPEN_HEALTH). */
export const OPERATIONAL_ROUTE = 'operational';
/** The declared "scope" of static files that hold no data (the console's page, scripts and styles): always open. */
export const PUBLIC_ROUTE = 'public';
/** What a route declares: the scopes of which a token needs one, the operational marker, or the public marker. */
export type RouteScope = readonly Scope[] | typeof OPERATIONAL_ROUTE | typeof PUBLIC_ROUTE;

/**
 * The scope a token needs to call this route (on a method, or a controller for all of its methods); with several, any
 * one of them (the registry's reads take `read` or `schema`, as a producer that registers also looks up).
 */
export const RequiresScope = (scope: Scope, ...alternatives: Scope[]) => SetMetadata(REQUIRED_SCOPE, [scope, ...alternatives]);
/** /health and /metrics: open by default for probes and Prometheus, `read` when the settings protect them. */
export const OperationalEndpoint = () => SetMetadata(REQUIRED_SCOPE, OPERATIONAL_ROUTE);
/**
 * Static files with no data in them (the console's HTML, JS, CSS): a browser loads a page without a header, and the
 * page's own calls to the API carry the token, which those check.
 */
export const PublicAsset = () => SetMetadata(REQUIRED_SCOPE, PUBLIC_ROUTE);

/** How one HTTP app checks its callers. */
export interface AuthPolicy {
  /** false: STREAMLOOP_AUTH=off, every caller is let through (routes must still declare a scope). */
  enabled: boolean;
  store: TokenStore;
  /** /health and /metrics answer without a token. */
  openOperational: boolean;
  /** Also take `Authorization: Basic base64(name:token)` (Confluent clients' basic.auth.user.info). */
  basic?: boolean;
}

/** The credentials an Authorization header carries: a bearer token, or basic auth's name and token. */
export type Credentials = { token: string; name?: string };

/** What the Authorization header holds; undefined when there is none or it is not a scheme taken here. */
export function credentialsOf(header: string | undefined, basic: boolean): Credentials | undefined {
  if (!header) return undefined;
  const match = /^(\w+)\s+(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme === 'bearer') return { token: match[2] };
  if (scheme === 'basic' && basic) {
    const decoded = Buffer.from(match[2], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return { name: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
  }
  return undefined;
}

interface HttpRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}
interface HttpResponse {
  setHeader(name: string, value: string): void;
}

/**
 * The one authentication and authorization check of every HTTP app of the platform (a global guard). Each route
 * declares what it needs with @RequiresScope (or @OperationalEndpoint); a route that declares nothing is refused
 * whatever the settings (fail closed), so a new endpoint cannot be served unprotected by forgetting it.
 * 401 UNAUTHORIZED (with WWW-Authenticate) without a valid token, 403 FORBIDDEN naming the scope a token lacks.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly reflector = new Reflector();

  constructor(private readonly policy: AuthPolicy) {}

  canActivate(context: ExecutionContext): boolean {
    // Stream handlers run on the Kafka transport: they are not callers of the HTTP API.
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    const route = `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`;
    const declared = this.reflector.getAllAndOverride<RouteScope | undefined>(REQUIRED_SCOPE, [context.getHandler(), context.getClass()]);
    if (declared === undefined) {
      throw new PlatformError('FORBIDDEN', `${route} declares no scope (@RequiresScope): refused, as every route without one is`);
    }
    if (!this.policy.enabled || declared === PUBLIC_ROUTE) return true;
    if (declared === OPERATIONAL_ROUTE && this.policy.openOperational) return true;
    const accepted: readonly Scope[] = declared === OPERATIONAL_ROUTE ? ['read'] : declared;
    const needed = accepted.join(' or ');
    const header = req.headers.authorization;
    const credentials = credentialsOf(Array.isArray(header) ? header[0] : header, this.policy.basic ?? false);
    const challenge = () => http.getResponse<HttpResponse>().setHeader('WWW-Authenticate', this.policy.basic ? 'Basic realm="streamloop", Bearer realm="streamloop"' : 'Bearer realm="streamloop"');
    if (!credentials) {
      challenge();
      throw new PlatformError('UNAUTHORIZED', `${route} needs a token with scope ${needed}: send Authorization: Bearer <token>${this.policy.basic ? ' (or Basic with name:token)' : ''}`);
    }
    const principal = this.policy.store.verify(credentials.token, credentials.name);
    if (!principal) {
      challenge();
      throw new PlatformError('UNAUTHORIZED', `${route}: the token is not one this service accepts${credentials.name !== undefined ? ` for name ${credentials.name}` : ''}`);
    }
    if (!accepted.some((scope) => grants(principal.scopes, scope))) {
      throw new PlatformError('FORBIDDEN', `${route} needs scope ${needed}; token ${principal.name} has ${principal.scopes.join(', ')}`, { details: { needed_scope: needed, token: principal.name } });
    }
    req.principal = principal;
    return true;
  }
}
