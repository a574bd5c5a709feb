import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamloopMetrics } from './metrics';
import { HealthRegistry } from './health';

test('metrics live on their own registry and render in Prometheus text format', async () => {
  const a = new StreamloopMetrics();
  const b = new StreamloopMetrics();
  a.recordsIn.inc({ service: 'ingestion', pipeline: 'fraud', topic: 'fraud.events.raw' }, 3);
  const { body, contentType } = await a.exposition();
  assert.match(contentType, /text\/plain/);
  assert.match(body, /streamloop_records_in_total\{service="ingestion",pipeline="fraud",topic="fraud.events.raw"\} 3/);
  assert.doesNotMatch((await b.exposition()).body, /streamloop_records_in_total\{/);
});

test('health is unhealthy while any component is', () => {
  const h = new HealthRegistry();
  h.set('kafka', true);
  assert.equal(h.report().status, 'ok');
  h.set('clickhouse', false, 'connection refused');
  assert.equal(h.report().status, 'unhealthy');
  assert.equal(h.report().components.clickhouse.detail, 'connection refused');
});
