import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkCompatibility, parseSchema } from '@streamloop/avro';
import type { AlertRecord } from '@streamloop/contracts';
import { PlatformError } from '@streamloop/errors';
import { createLogger } from '@streamloop/observability';
import { restoreAlertGate, type AlertLog } from './alert-gate-restore';

const logger = createLogger('alert-gate-test', 'silent');
const HOUR = 3_600_000;

function alert(over: Partial<AlertRecord>): AlertRecord {
  return {
    alert_id: 'a', pipeline: 'p', kind: 'feature_drift', feature: 'amount', statistic: 'psi', value: 0.4, threshold: 0.2,
    window_start: 0, window_end: 1, model_name: 'm', model_version: 1, model_role: 'champion', created_at: 10 * HOUR, ...over,
  };
}

/** An alerts topic in memory: JSON values; 'unreadable' does not decode, 'outage' fails as the registry being away. */
function alertLog(values: Array<AlertRecord | 'unreadable' | 'outage'>): AlertLog {
  return {
    readValues: async () => values.map((v) => Buffer.from(JSON.stringify(v))),
    decode: async (value) => {
      const v = JSON.parse(value.toString()) as AlertRecord | string;
      if (v === 'unreadable') throw new PlatformError('AVRO_DECODE_FAILED', 'bad bytes');
      if (v === 'outage') throw new PlatformError('SCHEMA_REGISTRY_UNAVAILABLE', 'registry away');
      return v as AlertRecord;
    },
  };
}

const key = { pipeline: 'p', kind: 'feature_drift' as const, feature: 'amount', statistic: 'psi', modelName: 'm', modelVersion: 1 };

test("the gate remembers this pipeline's alerts, skips unreadable records and other pipelines'", async () => {
  const gate = await restoreAlertGate({ alerts: alertLog([
    alert({}),
    'unreadable',
    alert({ pipeline: 'q', feature: 'hour' }),
    alert({ kind: 'performance', feature: '__error__', statistic: 'adwin', value: 0.4, threshold: null, window_start: 5000 }),
    alert({ kind: 'performance', feature: '__error__', statistic: 'adwin', value: 0.4, threshold: null, window_start: 7000, model_version: 2, model_role: 'challenger' }),
  ]), logger }, { pipeline: 'p', cooldownMs: 24 * HOUR });
  assert.equal(gate.size, 3);
  // The same condition within the cooldown, no worse: no second alert. 25 % worse: an alert.
  assert.equal(gate.observe(key, { crossed: true, value: 0.45, direction: 'above', at: 11 * HOUR }), false);
  assert.equal(gate.observe(key, { crossed: true, value: 0.6, direction: 'above', at: 11 * HOUR }), true);
  // Another pipeline's alert was not restored into this gate.
  assert.equal(gate.observe({ ...key, feature: 'hour' }, { crossed: true, value: 0.4, direction: 'above', at: 11 * HOUR }), true);
  // A detection alerted before is not alerted again; a later one is.
  const detection = { ...key, kind: 'performance' as const, feature: '__error__', statistic: 'adwin' };
  assert.equal(gate.observeDetection(detection, 5000), false);
  assert.equal(gate.observeDetection(detection, 6000), true);
  // A challenger's detection is remembered under its own version and role.
  assert.equal(gate.observeDetection({ ...detection, modelVersion: 2, modelRole: 'challenger' }, 7000), false);
  assert.equal(gate.observeDetection({ ...detection, modelVersion: 2, modelRole: 'champion' }, 7000), true, 'the same version as champion is another stream');
});

test('an outage while decoding fails the restore (the next run retries it)', async () => {
  await assert.rejects(restoreAlertGate({ alerts: alertLog([alert({}), 'outage']), logger }, { pipeline: 'p', cooldownMs: HOUR }), /registry away/);
});

test('an alert written before model_role (the previous alert schema) reads as the champion\'s, and restores the key the champion\'s alerts use', async () => {
  const current = JSON.parse(readFileSync(new URL('../../../schemas/alert.avsc', import.meta.url), 'utf8')) as { fields: Array<{ name: string }> };
  const previous = { ...current, fields: current.fields.filter((f) => f.name !== 'model_role') };
  assert.deepEqual(checkCompatibility(current, [previous], 'FULL'), { compatible: true, messages: [] }, 'old readers and new readers both read either');
  const [reader, writer] = [parseSchema(current), parseSchema(previous)];
  const { model_role: _, ...old } = alert({ kind: 'performance', feature: '__error__', statistic: 'adwin', threshold: null, window_start: 5000 });
  const read = reader.fromBuffer(writer.toBuffer(old), reader.createResolver(writer)) as AlertRecord;
  assert.equal(read.model_role, 'champion');
  const gate = await restoreAlertGate({ alerts: alertLog([read]), logger }, { pipeline: 'p', cooldownMs: HOUR });
  const detection = { ...key, kind: 'performance' as const, feature: '__error__', statistic: 'adwin', modelRole: 'champion' };
  assert.equal(gate.observeDetection(detection, 5000), false, 'remembered across the upgrade');
});
