import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PlatformError } from '@streamloop/errors';
import {
  formatTokenEntry, generateToken, grants, hashToken, loadTokenEntries, parseTokenEntries, parseTokenFile, TokenStore, TOKEN_PREFIX,
} from './index';

test('a generated token is random, prefixed, and its entry holds only the SHA-256', () => {
  const a = generateToken();
  const b = generateToken();
  assert.notEqual(a, b);
  assert.ok(a.startsWith(TOKEN_PREFIX) && a.length >= 40, a);
  const line = formatTokenEntry({ name: 'ci', sha256: hashToken(a), scopes: ['ingest', 'read'] });
  assert.equal(line, `ci:sha256:${hashToken(a).toString('hex')}:ingest,read`);
  assert.ok(!line.includes(a.slice(TOKEN_PREFIX.length)), 'the token itself is not in its entry');
  // Known answer: sha256("test") from any other tool.
  assert.equal(hashToken('test').toString('hex'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
});

test('STREAMLOOP_TOKENS entries parse, and a bad one is named with what was expected', () => {
  const t1 = generateToken();
  const t2 = generateToken();
  const text = `${formatTokenEntry({ name: 'app', sha256: hashToken(t1), scopes: ['ingest'] })}; ${formatTokenEntry({ name: 'ops', sha256: hashToken(t2), scopes: ['admin'] })}`;
  const entries = parseTokenEntries(text);
  assert.deepEqual(entries.map((e) => [e.name, e.scopes]), [['app', ['ingest']], ['ops', ['admin']]]);
  assert.throws(() => parseTokenEntries('app:sha256:abc:ingest'), (e: PlatformError) => e.code === 'INVALID_SETTINGS' && /entry 1: sha256: expected .*64 hex digits/.test(e.message));
  assert.throws(() => parseTokenEntries(`app:sha256:${'a'.repeat(64)}:ingest,root`), /scope "root": expected one of ingest, predict, read, schema, admin/);
  assert.throws(() => parseTokenEntries(`app:md5:${'a'.repeat(32)}:ingest`), /hash kind "md5"/);
  assert.throws(() => parseTokenEntries(`app:sha256:${'a'.repeat(64)}`), /expected name:sha256/);
});

test('a token file in YAML or JSON, with scopes as a list or a string; a duplicate name across sources is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-tokens-'));
  const yamlFile = join(dir, 'tokens.yaml');
  writeFileSync(yamlFile, `tokens:\n  - name: ci\n    sha256: ${'b'.repeat(64)}\n    scopes: [ingest, read]\n  - name: ops\n    sha256: ${'c'.repeat(64)}\n    scopes: admin\n`);
  assert.deepEqual(loadTokenEntries({ tokensFile: yamlFile }).map((e) => [e.name, e.scopes]), [['ci', ['ingest', 'read']], ['ops', ['admin']]]);
  assert.deepEqual(parseTokenFile(JSON.stringify([{ name: 'x', sha256: 'd'.repeat(64), scopes: ['predict'] }]), 'f.json').map((e) => e.scopes), [['predict']]);
  assert.throws(() => parseTokenFile('[{"name": "x", "scopes": ["predict"]}]', 'f.json'), /f\.json entry 1: sha256/);
  assert.throws(() => loadTokenEntries({ tokensFile: join(dir, 'missing.yaml') }), /STREAMLOOP_TOKENS_FILE .*missing\.yaml: cannot be read/);
  assert.throws(() => loadTokenEntries({ tokensFile: yamlFile, tokens: `ci:sha256:${'e'.repeat(64)}:read` }), /token name ci is configured twice/);
});

test('verification finds the holder of a token among many, refuses others, and checks basic auth names', () => {
  const tokens = Array.from({ length: 5 }, () => generateToken());
  const store = new TokenStore(tokens.map((t, i) => ({ name: `t${i}`, sha256: hashToken(t), scopes: i === 4 ? ['admin' as const] : ['ingest' as const] })));
  tokens.forEach((t, i) => assert.equal(store.verify(t)?.name, `t${i}`));
  assert.equal(store.verify(generateToken()), undefined);
  assert.equal(store.verify(''), undefined);
  assert.equal(store.verify(tokens[0].slice(0, -1)), undefined, 'a prefix of a token is not the token');
  assert.equal(store.verify(tokens[2], 't2')?.name, 't2');
  assert.equal(store.verify(tokens[2], 't3'), undefined, 'basic auth with another entry\'s name');
  assert.equal(new TokenStore([]).verify(tokens[0]), undefined);
});

test('verification compares every entry: a match on the first entry takes as many comparisons as a miss', async () => {
  // Counting the constant-time comparisons is the observable part of "no early exit" (wall-clock timing is too noisy
  // for a unit test): the match is the first entry, and every later entry is still compared.
  const crypto = await import('node:crypto');
  const tokens = Array.from({ length: 50 }, () => generateToken());
  const store = new TokenStore(tokens.map((t, i) => ({ name: `t${i}`, sha256: hashToken(t), scopes: ['read' as const] })));
  const counted = { n: 0 };
  const original = crypto.timingSafeEqual;
  const { mock } = await import('node:test');
  const spy = mock.method(crypto.default, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => { counted.n++; return original(a, b); });
  try {
    store.verify(tokens[0]);
    const onMatch = counted.n;
    counted.n = 0;
    store.verify(generateToken());
    assert.equal(onMatch, 50);
    assert.equal(counted.n, 50);
  } finally {
    spy.mock.restore();
  }
});

test('admin implies every scope; others only themselves', () => {
  assert.ok(grants(['admin'], 'ingest') && grants(['admin'], 'schema') && grants(['admin'], 'read'));
  assert.ok(grants(['ingest', 'read'], 'read'));
  assert.ok(!grants(['ingest'], 'admin'));
  assert.ok(!grants(['ingest'], 'predict'));
  assert.ok(!grants(['read'], 'schema'));
});
