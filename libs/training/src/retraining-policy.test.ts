import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RETRAINING_TRIGGER_KINDS } from '@streamloop/config';
import { ALERT_KIND_SYMBOLS } from '@streamloop/contracts';
import { DEFERRED_ALERT_RETRY_MS, decideRetraining, retrainingPolicyOf, type RetrainingFacts, type RetrainingTrigger } from './retraining-policy';

const HOUR = 3_600_000;
const champion = { model_name: 'fraud', model_version: 3, data_window_end: 1_000 };
const alert = (over: Partial<Extract<RetrainingTrigger, { kind: 'alert' }>['alert']> = {}): RetrainingTrigger => ({
  kind: 'alert', alert: { alert_id: 'a1', kind: 'performance', statistic: 'adwin', feature: '', model_name: 'fraud', model_version: 3, model_role: 'champion', ...over },
});
function facts(over: Partial<RetrainingFacts> = {}, newLabels = 800): RetrainingFacts & { counted: number } {
  const f = { now: 10 * HOUR, champion, runInProgress: false, challengerUnderReview: false, counted: 0, ...over, countNewLabels: async () => { f.counted++; return newLabels; } };
  return f;
}
const policy = retrainingPolicyOf(undefined);

test('every retraining trigger kind is an alert kind monitoring raises', () => {
  for (const kind of RETRAINING_TRIGGER_KINDS) assert.ok((ALERT_KIND_SYMBOLS as readonly string[]).includes(kind), kind);
});

test('an alert about the champion starts a run when the policy allows it; each refusal says why', async () => {
  const started = await decideRetraining(alert(), facts(), policy);
  assert.deepEqual(started, { decision: 'trained', reason: 'started', detail: 'alert performance (adwin) about fraud v3, 800 new labelled events', newLabels: 800 });
  const cases: Array<[string, RetrainingTrigger, Partial<RetrainingFacts>, number, RegExp]> = [
    ['run_in_progress', alert(), { runInProgress: true }, 800, /under way/],
    ['not_a_trigger', alert({ kind: 'feature_drift', statistic: 'psi', feature: 'amount' }), {}, 800, /alert feature_drift \(psi on amount\) is not among retraining\.triggers/],
    ['not_the_champion', alert({ model_role: 'challenger', model_version: 4 }), {}, 800, /about challenger fraud v4; the champion is fraud v3/],
    ['not_the_champion', alert({ model_version: 2 }), {}, 800, /the champion is fraud v3/],
    ['cooldown', alert(), { lastRunAt: 10 * HOUR - 600_000 }, 800, /started 600 s ago; retraining\.cooldown leaves 3000 s/],
    ['challenger_under_review', alert(), { challengerUnderReview: true }, 800, /a challenger is being proven/],
    ['probation', alert(), { championOnProbation: true }, 800, /is on probation beside the previous champion/],
    ['not_enough_new_labels', alert(), {}, 120, /120 labelled events newer than fraud v3's data, retraining\.min_new_labels is 500/],
  ];
  for (const [reason, trigger, over, newLabels, detail] of cases) {
    const f = facts(over, newLabels);
    const d = await decideRetraining(trigger, f, policy);
    assert.deepEqual([d.decision, d.reason], ['skipped', reason], reason);
    assert.match(d.detail, detail);
    assert.equal(f.counted, reason === 'not_enough_new_labels' ? 1 : 0, `${reason}: new labels counted only when needed`);
    // "Not now" is asked again later (the cooldown at its end); "no" is not.
    const expectedRetry = reason === 'cooldown' ? 10 * HOUR - 600_000 + policy.cooldownMs
      : reason === 'not_a_trigger' || reason === 'not_the_champion' ? undefined : f.now + DEFERRED_ALERT_RETRY_MS;
    assert.equal(d.retryAt, expectedRetry, `${reason}: retryAt`);
  }
  assert.equal((await decideRetraining({ kind: 'command' }, facts({ runInProgress: true }), policy)).retryAt, undefined, 'only alerts are asked again');
});

test('a statistic in a trigger narrows its kind; schedules and commands always run unless one is under way', async () => {
  const narrow = { ...policy, triggers: [{ kind: 'performance' as const, statistic: 'ddm' }] };
  assert.equal((await decideRetraining(alert({ statistic: 'adwin' }), facts(), narrow)).reason, 'not_a_trigger');
  assert.equal((await decideRetraining(alert({ statistic: 'ddm' }), facts(), narrow)).reason, 'started');
  assert.equal((await decideRetraining({ kind: 'schedule' }, facts({ lastRunAt: 10 * HOUR - 1 }), policy)).decision, 'trained');
  assert.equal((await decideRetraining({ kind: 'command' }, facts({ runInProgress: true }), policy)).reason, 'run_in_progress');
  assert.equal((await decideRetraining(alert(), facts({ lastRunAt: 9 * HOUR - 1 }), policy)).reason, 'started', 'the cooldown is over');
});
