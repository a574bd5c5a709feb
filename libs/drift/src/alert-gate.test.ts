import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertGate, type AlertKey } from './alert-gate';

const HOUR = 3_600_000;
const psiKey: AlertKey = { pipeline: 'fraud', kind: 'feature_drift', feature: 'amount', statistic: 'psi', modelName: 'm', modelVersion: 1 };
const above = (value: number, at: number, crossed = true) => ({ crossed, value, direction: 'above' as const, at });
const below = (value: number, at: number, crossed = true) => ({ crossed, value, direction: 'below' as const, at });

test('a persisting drift alerts once, again when 25 % worse, and again after the cooldown', () => {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR });
  assert.equal(gate.observe(psiKey, above(0.4, 0)), true, 'first crossing');
  assert.equal(gate.observe(psiKey, above(0.4, HOUR)), false, 'same value');
  assert.equal(gate.observe(psiKey, above(0.49, 2 * HOUR)), false, 'less than 25 % worse than 0.4');
  assert.equal(gate.observe(psiKey, above(0.3, 3 * HOUR)), false, 'better');
  assert.equal(gate.observe(psiKey, above(0.5, 4 * HOUR)), true, '25 % worse than the last alerted 0.4');
  // The baseline is now 0.5: 0.6 is not 25 % worse than it.
  assert.equal(gate.observe(psiKey, above(0.6, 5 * HOUR)), false);
  assert.equal(gate.observe(psiKey, above(0.5, 4 * HOUR + 24 * HOUR - 1)), false, 'just before the cooldown');
  assert.equal(gate.observe(psiKey, above(0.5, 4 * HOUR + 24 * HOUR)), true, 'the cooldown has passed');
});

test('a condition that clears resets its key: a recurrence alerts again; other keys are independent', () => {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR });
  assert.equal(gate.observe(psiKey, above(0.4, 0)), true);
  assert.equal(gate.observe({ ...psiKey, modelVersion: 2 }, above(0.4, 0)), true, 'another model version is another key');
  assert.equal(gate.observe({ ...psiKey, feature: 'hour' }, above(0.4, 0)), true, 'another feature is another key');
  assert.equal(gate.observe(psiKey, above(0.1, HOUR, false)), false, 'cleared: never an alert');
  assert.equal(gate.observe(psiKey, above(0.3, 2 * HOUR)), true, 'recurred');
  assert.equal(gate.observe({ ...psiKey, modelVersion: 2 }, above(0.4, 2 * HOUR)), false, 'still remembered');
});

test('a p-value alerts again only when ten times smaller; one that underflowed to 0 cannot worsen', () => {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR });
  const ks = { ...psiKey, statistic: 'ks_p_value' };
  assert.equal(gate.observe(ks, below(1e-4, 0)), true);
  assert.equal(gate.observe(ks, below(2e-5, HOUR)), false, 'five times smaller');
  assert.equal(gate.observe(ks, below(1e-5, 2 * HOUR)), true, 'ten times smaller');
  assert.equal(gate.observe(ks, below(0, 3 * HOUR)), true);
  assert.equal(gate.observe(ks, below(0, 4 * HOUR)), false);
});

test('restored alerts suppress the same condition after a restart; the latest restored alert per key wins', () => {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR });
  gate.restore({ ...psiKey, value: 0.8, at: 2 * HOUR });
  gate.restore({ ...psiKey, value: 0.4, at: HOUR });
  assert.equal(gate.size, 1);
  assert.equal(gate.observe(psiKey, above(0.9, 3 * HOUR)), false, 'not 25 % worse than the latest, 0.8');
  assert.equal(gate.observe(psiKey, above(1.0, 4 * HOUR)), true, '25 % worse than 0.8');
  assert.equal(gate.observe(psiKey, above(1.0, 26 * HOUR)), false, 'the cooldown counts from the last alert');
});

test('memory is bounded: beyond maxKeys the least recently seen key is forgotten', () => {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR, maxKeys: 3 });
  const key = (feature: string) => ({ ...psiKey, feature });
  for (const f of ['a', 'b', 'c']) assert.equal(gate.observe(key(f), above(0.4, 0)), true);
  // Seeing "a" again (no alert) makes it recent; "b" is now the least recently seen.
  assert.equal(gate.observe(key('a'), above(0.4, 1)), false);
  assert.equal(gate.observe(key('d'), above(0.4, 2)), true);
  assert.equal(gate.size, 3);
  assert.equal(gate.observe(key('a'), above(0.4, 3)), false, 'a was kept');
  assert.equal(gate.observe(key('c'), above(0.4, 3)), false, 'c was kept');
  assert.equal(gate.observe(key('b'), above(0.4, 3)), true, 'b was evicted, so it alerts again');
  assert.equal(gate.size, 3);
  for (let i = 0; i < 1000; i++) gate.observe(key(`x${i}`), above(0.4, 4));
  assert.equal(gate.size, 3);
  assert.throws(() => new AlertGate({ cooldownMs: 0, maxKeys: 0 }), RangeError);
});

test('a detection alerts once: a replay of the same or an earlier event time is a repeat, also after a restore', () => {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR });
  const adwin = { ...psiKey, kind: 'performance', feature: '__error__', statistic: 'adwin' };
  assert.equal(gate.observeDetection(adwin, 1000), true);
  assert.equal(gate.observeDetection(adwin, 1000), false, 'the same detection replayed');
  assert.equal(gate.observeDetection(adwin, 500), false, 'an earlier one replayed');
  assert.equal(gate.observeDetection({ ...adwin, statistic: 'ddm' }, 500), true, 'another detector is another key');
  assert.equal(gate.observeDetection(adwin, 2000), true, 'a later change');
  assert.equal(gate.observeDetection({ ...adwin, modelRole: 'challenger' }, 2000), true, "the same version's stream as a challenger is another key");
  assert.equal(gate.observeDetection({ ...adwin, modelRole: 'champion' }, 2000), false, 'no role is the champion');
  // A condition with the same key fields is judged apart from detections.
  assert.equal(gate.observe(adwin, above(0.4, 0)), true);
  const restarted = new AlertGate({ cooldownMs: 24 * HOUR });
  restarted.restoreDetection(adwin, 2000);
  restarted.restoreDetection(adwin, 1000);
  assert.equal(restarted.observeDetection(adwin, 1000), false);
  assert.equal(restarted.observeDetection(adwin, 2000), false);
  assert.equal(restarted.observeDetection(adwin, 3000), true);
});
