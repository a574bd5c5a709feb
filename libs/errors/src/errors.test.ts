import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ERROR_CODES, errorBody, isErrorCode, PlatformError, type ErrorCode } from './index';

class ThingMissingError extends PlatformError {
  constructor(readonly thing: string) {
    super('NOT_FOUND', `no ${thing}`);
  }
}

test('a PlatformError takes its status and retriable flag from its code, and keeps its class name and cause', () => {
  const cause = new Error('socket hang up');
  const outage = new PlatformError('KAFKA_UNAVAILABLE', 'broker away', { cause });
  assert.deepEqual([outage.code, outage.status, outage.retriable, outage.message], ['KAFKA_UNAVAILABLE', 503, true, 'broker away']);
  assert.equal(outage.cause, cause);
  assert.equal(outage.name, 'PlatformError');

  const missing = new ThingMissingError('report');
  assert.ok(missing instanceof PlatformError && missing instanceof Error);
  assert.deepEqual([missing.code, missing.status, missing.retriable], ['NOT_FOUND', 404, false]);
  assert.equal(missing.name, 'ThingMissingError', 'dead letters and logs show the class name');
  assert.ok(!('cause' in missing), 'no cause property unless one is given');
});

test('a protocol may fix another status than the code\'s; retriable still comes from the code', () => {
  const store = new PlatformError('SCHEMA_REGISTRY_UNAVAILABLE', 'log not writable', { status: 500 });
  assert.deepEqual([store.status, store.retriable], [500, true]);
});

test('errorBody is the one HTTP shape: code, message, status, and details only when there are some', () => {
  assert.deepEqual(errorBody(new PlatformError('INVALID_INPUT', 'bad')), { error: { code: 'INVALID_INPUT', message: 'bad', status: 400 } });
  const rejected = [{ index: 0, errors: ['$.amount: expected a double'] }];
  assert.deepEqual(errorBody(new PlatformError('INVALID_EVENT', 'invalid events', { details: { rejected } })), {
    error: { code: 'INVALID_EVENT', message: 'invalid events', status: 400, details: { rejected } },
  });
  assert.deepEqual(errorBody(new PlatformError('INTERNAL', 'secret path /etc/x'), 'internal error'), { error: { code: 'INTERNAL', message: 'internal error', status: 500 } });
});

test('every code is an upper-case name with an HTTP error status; outages and waits are the retriable ones', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[A-Z][A-Z_]*[A-Z]$/, code);
    assert.ok(spec.status >= 400 && spec.status <= 599, `${code}: ${spec.status}`);
    assert.ok(spec.meaning.length > 0, code);
    // A retriable error is the world's, never the request's: a client error status would tell the client to change it.
    if (spec.retriable) assert.ok(spec.status >= 500, `${code} is retriable but answers ${spec.status}`);
  }
  assert.equal(isErrorCode('RECORD_TOO_LARGE'), true);
  assert.equal(isErrorCode('toString'), false, 'only own keys are codes');
  assert.equal(isErrorCode(42), false);
});

test('docs/errors.md lists every code with its status and retriable flag', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, string[]>();
  for (const m of doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|(.*)\|\s*$/gm)) rows.set(m[1], m[2].split('|').map((c) => c.trim()));
  for (const [code, spec] of Object.entries(ERROR_CODES) as Array<[ErrorCode, (typeof ERROR_CODES)[ErrorCode]]>) {
    const row = rows.get(code);
    assert.ok(row, `docs/errors.md has no row for ${code}`);
    assert.equal(row[0], String(spec.status), `${code}: status in docs/errors.md`);
    assert.equal(row[1], spec.retriable ? 'yes' : 'no', `${code}: retriable in docs/errors.md`);
  }
  for (const code of rows.keys()) assert.ok(isErrorCode(code), `docs/errors.md lists ${code}, which is no code`);
});
