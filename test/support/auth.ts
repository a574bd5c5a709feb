// Auth for the test stacks. Tests about something else than auth run their stacks with auth off, said explicitly here
// (STREAMLOOP_AUTH=off, AUTH_OFF); test/integration/auth.test.ts runs a stack with auth on and these tokens.
import { formatTokenEntry, generateToken, hashToken, TokenStore, type AuthPolicy, type Scope } from '@streamloop/auth';

/** An app without auth, for the stacks of tests about something else (every route must still declare its scope). */
export const AUTH_OFF: AuthPolicy = { enabled: false, store: new TokenStore([]), openOperational: true };

/** The environment of a `streamloop` process a test about something else starts (the caller's env may override it). */
export const AUTH_OFF_ENV = { STREAMLOOP_AUTH: 'off' } as const;

export interface TestTokens {
  /** One token per name, each with the scopes of its name (`admin`, `ingest`, `predict`, `read`, `schema`). */
  token: Record<Scope, string>;
  /** STREAMLOOP_TOKENS accepting all of them, by hash. */
  entries: string;
  store: TokenStore;
}

/** A token for each scope, named after it, and the settings that accept them. */
export function testTokens(): TestTokens {
  const scopes: Scope[] = ['admin', 'ingest', 'predict', 'read', 'schema'];
  const token = Object.fromEntries(scopes.map((s) => [s, generateToken()])) as Record<Scope, string>;
  const list = scopes.map((s) => ({ name: s, sha256: hashToken(token[s]), scopes: [s] }));
  return { token, entries: list.map(formatTokenEntry).join(';'), store: new TokenStore(list) };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
