// The shared clients open on first use; a failed opening (the dependency was away) must not stay failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenedOnce } from './providers';

test('OpenedOnce: concurrent callers share one opening; a failed opening is tried again by the next caller; close shuts what opened', async () => {
  let opens = 0;
  const shut: string[] = [];
  const client = new OpenedOnce(async () => {
    opens++;
    if (opens === 1) throw new Error('connect ECONNREFUSED');
    return `client-${opens}`;
  }, async (value) => void shut.push(value));

  await assert.rejects(client.get(), /ECONNREFUSED/);
  const [a, b] = await Promise.all([client.get(), client.get()]);
  assert.deepEqual([a, b, opens], ['client-2', 'client-2', 2], 'retried once after the failure, shared by both callers');
  assert.equal(await client.get(), 'client-2');
  await client.close();
  assert.deepEqual(shut, ['client-2']);
  await client.close();
  assert.deepEqual(shut, ['client-2'], 'closing twice shuts once');
});
