import assert from 'node:assert/strict';
import type { ErrorBody } from '@streamloop/errors';

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

/** One request, answered as status, Content-Type and text (the body is parsed by the checks that need it). */
export async function request(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(60_000) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/**
 * Asserts the platform's one error body, `{ "error": { "code", "message", "status", "details"? } }`, with this status
 * and code, served as JSON; returns it for further checks.
 */
export function assertErrorBody(answer: HttpAnswer, status: number, code: string): ErrorBody['error'] {
  const shown = answer.text.slice(0, 500);
  assert.equal(answer.status, status, shown);
  assert.match(answer.contentType, /^application\/json/, shown);
  const body = JSON.parse(answer.text) as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error'], shown);
  const keys = Object.keys(body.error).sort();
  assert.ok(keys.join() === 'code,message,status' || keys.join() === 'code,details,message,status', `error keys ${keys.join()}: ${shown}`);
  assert.deepEqual([body.error.code, body.error.status], [code, status], shown);
  assert.ok(typeof body.error.message === 'string' && body.error.message.length > 0, shown);
  assert.doesNotMatch(answer.text, /\n\s+at |"stack"/, 'no stack in the body');
  return body.error;
}

/**
 * The HTTP error cases every JSON endpoint shares, against a running app: malformed JSON → 400, a non-JSON body → 415,
 * an unknown route → 404, a body over the limit (`oversize` bytes of JSON) → 413, each in the one error body.
 */
export async function assertJsonEndpointErrors(base: string, endpoint: string, oversize: number): Promise<void> {
  const post = (body: string, contentType: string) => request(base + endpoint, { method: 'POST', headers: { 'content-type': contentType }, body });
  const malformed = assertErrorBody(await post('{"transaction_id": ', 'application/json'), 400, 'MALFORMED_JSON');
  assert.match(malformed.message, /JSON/);
  assertErrorBody(await post('{"a": 1}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertErrorBody(await post('a=1&b=2', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertErrorBody(await request(`${base}/v1/no-such-route`), 404, 'NOT_FOUND');
  assertErrorBody(await request(`${base}${endpoint}/no-such-child`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 404, 'NOT_FOUND');
  const tooLarge = assertErrorBody(await post(JSON.stringify({ pad: 'x'.repeat(oversize) }), 'application/json'), 413, 'PAYLOAD_TOO_LARGE');
  assert.match(tooLarge.message, /too large.*limit/);
}
