// The module object, not a named import: timingSafeEqual is looked up at each call (the unit test counts the calls).
import crypto, { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PlatformError } from '@streamloop/errors';
import { isScope, SCOPES, type Scope } from './scopes';

/**
 * A token as it is kept at rest: its name, the SHA-256 of the token, and its scopes. The token itself is never stored.
 *
 * Why SHA-256 and not scrypt: a generated token carries 256 random bits, so no dictionary or brute force can invert
 * its hash; a slow hash (scrypt, bcrypt) protects low-entropy passwords and would cost milliseconds on every request
 * (REST predict's budget is 5 ms at p99).
 */
export interface TokenEntry {
  name: string;
  /** SHA-256 of the token's UTF-8 bytes, 32 bytes. */
  sha256: Buffer;
  scopes: Scope[];
}

/** Generated tokens start with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'slt_';

/** A new random token (256 bits, base64url). */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** A token's entry in STREAMLOOP_TOKENS form, `name:sha256:<hex>:scope,scope`. */
export function formatTokenEntry(entry: { name: string; sha256: Buffer; scopes: readonly Scope[] }): string {
  return `${entry.name}:sha256:${entry.sha256.toString('hex')}:${entry.scopes.join(',')}`;
}

/** The problems with one entry's fields (empty: it is usable); `where` names it in the messages. */
function entryOf(where: string, name: unknown, sha256: unknown, scopes: unknown, problems: string[]): TokenEntry | undefined {
  const before = problems.length;
  if (typeof name !== 'string' || !NAME.test(name)) problems.push(`${where}: name ${JSON.stringify(name)}: expected 1-64 letters, digits, _ . @ -`);
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256)) {
    problems.push(`${where}: sha256: expected the token's SHA-256 as 64 hex digits (\`streamloop token create\` prints it), got ${typeof sha256 === 'string' ? `${sha256.length} characters` : String(sha256)}`);
  }
  const list = typeof scopes === 'string' ? scopes.split(',').map((s) => s.trim()).filter(Boolean) : scopes;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${where}: scopes: expected one or more of ${SCOPES.join(', ')}`);
  } else {
    for (const s of list) if (typeof s !== 'string' || !isScope(s)) problems.push(`${where}: scope ${JSON.stringify(s)}: expected one of ${SCOPES.join(', ')}`);
  }
  if (problems.length > before) return undefined;
  return { name: name as string, sha256: Buffer.from(sha256 as string, 'hex'), scopes: [...new Set(list as Scope[])] };
}

/** STREAMLOOP_TOKENS: entries `name:sha256:<hex>:scope,scope` separated by `;` or whitespace. */
export function parseTokenEntries(text: string, variable = 'STREAMLOOP_TOKENS'): TokenEntry[] {
  const problems: string[] = [];
  const entries: TokenEntry[] = [];
  text.split(/[;\s]+/).filter(Boolean).forEach((raw, i) => {
    const parts = raw.split(':');
    const where = `${variable} entry ${i + 1}`;
    if (parts.length !== 4 || parts[1] !== 'sha256') {
      problems.push(`${where}: expected name:sha256:<64 hex digits>:scope[,scope…], got ${parts.length} field(s)${parts[1] && parts[1] !== 'sha256' ? ` with hash kind ${JSON.stringify(parts[1])}` : ''}`);
      return;
    }
    const entry = entryOf(where, parts[0], parts[2], parts[3], problems);
    if (entry) entries.push(entry);
  });
  if (problems.length > 0) throw new PlatformError('INVALID_SETTINGS', problems.join('; '));
  return entries;
}

/**
 * STREAMLOOP_TOKENS_FILE: YAML or JSON, either a list of `{ name, sha256, scopes }` or `{ tokens: [...] }`; `scopes` a
 * list or a comma-separated string.
 */
export function parseTokenFile(text: string, file: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new PlatformError('INVALID_SETTINGS', `STREAMLOOP_TOKENS_FILE ${file}: not YAML or JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) throw new PlatformError('INVALID_SETTINGS', `STREAMLOOP_TOKENS_FILE ${file}: expected a list of { name, sha256, scopes } (or { tokens: [...] })`);
  const problems: string[] = [];
  const entries: TokenEntry[] = [];
  list.forEach((item: unknown, i) => {
    const where = `STREAMLOOP_TOKENS_FILE ${file} entry ${i + 1}`;
    if (item === null || typeof item !== 'object') {
      problems.push(`${where}: expected { name, sha256, scopes }`);
      return;
    }
    const { name, sha256, scopes } = item as Record<string, unknown>;
    const entry = entryOf(where, name, sha256, scopes, problems);
    if (entry) entries.push(entry);
  });
  if (problems.length > 0) throw new PlatformError('INVALID_SETTINGS', problems.join('; '));
  return entries;
}

/** The tokens a process accepts, from the settings' STREAMLOOP_TOKENS and STREAMLOOP_TOKENS_FILE (both may be set). */
export function loadTokenEntries(source: { tokens?: string; tokensFile?: string }): TokenEntry[] {
  const entries = source.tokens ? parseTokenEntries(source.tokens) : [];
  if (source.tokensFile) {
    let text: string;
    try {
      text = readFileSync(source.tokensFile, 'utf8');
    } catch (error) {
      throw new PlatformError('INVALID_SETTINGS', `STREAMLOOP_TOKENS_FILE ${source.tokensFile}: cannot be read: ${(error as Error).message}`);
    }
    entries.push(...parseTokenFile(text, source.tokensFile));
  }
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new PlatformError('INVALID_SETTINGS', `token name ${e.name} is configured twice (STREAMLOOP_TOKENS, STREAMLOOP_TOKENS_FILE): give each token its own name`);
    seen.add(e.name);
  }
  return entries;
}

/** A verified token: who holds it and what it may do. */
export interface Principal {
  name: string;
  scopes: Scope[];
}

/** The accepted tokens, by hash. */
export class TokenStore {
  private readonly entries: readonly TokenEntry[];

  constructor(entries: readonly TokenEntry[]) {
    this.entries = entries.map((e) => ({ ...e, sha256: Buffer.from(e.sha256) }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** A store that also accepts `token` (e.g. one generated for this process) under `name`. */
  with(name: string, token: string, scopes: Scope[]): TokenStore {
    return new TokenStore([...this.entries, { name, sha256: hashToken(token), scopes }]);
  }

  /**
   * The holder of `token`, or undefined. The presented token is hashed and compared with every entry in constant time
   * (crypto.timingSafeEqual on equal-length digests), and the loop never stops early, so the time taken says nothing
   * about which entry matched or how much of a hash did. With `name` (basic auth's user) the entry must also carry it;
   * the name is compared after the loop, so it does not shorten it either.
   */
  verify(token: string, name?: string): Principal | undefined {
    const presented = hashToken(token);
    let match: TokenEntry | undefined;
    for (const entry of this.entries) {
      if (crypto.timingSafeEqual(entry.sha256, presented) && match === undefined) match = entry;
    }
    if (!match || (name !== undefined && name !== match.name)) return undefined;
    return { name: match.name, scopes: [...match.scopes] };
  }
}
