import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformError } from '@streamloop/errors';
import { parseReportQuery } from './index';

test('the report query: ISO times, html by default, errors naming the parameter', () => {
  assert.deepEqual(parseReportQuery({}), { from: undefined, to: undefined, format: 'html' });
  assert.deepEqual(parseReportQuery({ from: '2026-11-03T12:00:00Z', to: '2026-11-04', format: 'json' }),
    { from: Date.UTC(2026, 10, 3, 12), to: Date.UTC(2026, 10, 4), format: 'json' });
  assert.equal(parseReportQuery({ from: '2026-11-03T12:00:00.250+01:00' }).from, Date.UTC(2026, 10, 3, 11, 0, 0, 250));
  const bad = (q: Record<string, string>, message: RegExp) => assert.throws(() => parseReportQuery(q), (e: unknown) => {
    assert.ok(e instanceof PlatformError);
    assert.equal(e.code, 'INVALID_INPUT');
    assert.equal(e.status, 400);
    assert.match(e.message, message);
    return true;
  });
  bad({ from: 'yesterday' }, /^from: expected an ISO 8601 time .* got 'yesterday'/);
  bad({ to: '2026-11-03T12:00:00' }, /^to: expected an ISO 8601 time with a time zone/);
  bad({ to: '2026-13-45' }, /^to: /);
  bad({ from: '2026-11-04', to: '2026-11-03' }, /^from: expected a time before to/);
  bad({ format: 'pdf' }, /^format: expected html or json, got 'pdf'/);
});
