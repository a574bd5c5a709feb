// The closed loop end to end on the real broker, with no manual step: `streamloop start` with every target, a payments
// app sending card transactions and, late, their labels, the first model trained by itself, and then a change in the
// world. What happens next is decided by the platform alone — the change detectors, the retraining policy, the
// data-quality gate, the offline and online promotion tests, the probation — and checked from outside: the registry
// and the retraining decisions over HTTP, P.predictions and P.alerts read_committed.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CardProducer, CHANGE_AT, firstModel, LABEL_LAG, liveAuc, LOOP_SPEC, paced, sendPaced, sendUntilPromoted, startLoopPlatform, stream, type ModelLine } from '../support/loop';
import { brokersOrSkip, eventually } from '../support/stack';

const brokers = brokersOrSkip();
const skip = !brokers && 'KAFKA_BROKERS is not set';
/** Live AUC served by the promoted model must beat the old champion's after the change by at least this much. */
const RECOVERY_MARGIN = 0.05;

test('a concept change: the detectors alert, the loop retrains, the new model passes the gate and both tests, is kept after probation, and live AUC recovers', { skip, timeout: 900_000 }, async (t: TestContext) => {
  const loop = await startLoopPlatform(brokers!, 'loop-change', LOOP_SPEC);
  try {
    const items = stream(11, loop.name, { conceptChange: { fromIndex: CHANGE_AT } });
    const producer = new CardProducer(loop, LABEL_LAG);
    const first = await firstModel(loop, producer, items);
    const { promoted, reached } = await sendUntilPromoted(loop, producer, items, first);
    assert.ok(promoted, `no model promoted by policy after ${reached - CHANGE_AT} events of the changed world\n${JSON.stringify(await loop.decisions(), null, 1)}\n${loop.why()}`);
    t.diagnostic(`promoted after ${reached - CHANGE_AT} changed events: ${promoted.decision_reason}`);
    assert.match(promoted.decision_reason, /^online against fraud-lr v1 on 600 labelled live events \(promotion\.online_labels\): better: AUC .*; on probation/);
    assert.ok(promoted.decision_metrics.online_auc_p_value <= 0.05, JSON.stringify(promoted.decision_metrics));

    // The run was started by a detector's performance alert about the champion, and its window passed the gate.
    const decisions = await loop.decisions();
    const trained = decisions.find((d) => d.decision === 'trained' && d.trigger === 'alert');
    assert.ok(trained && trained.alert_kind === 'performance', JSON.stringify(decisions, null, 1));
    const alerts = await loop.alerts();
    assert.ok(alerts.some((a) => a.kind === 'performance' && a.model_version === first.model_version && a.model_role === 'champion'));

    // The changed world goes on: the probation keeps the new champion, and its live AUC is measured.
    const afterPromotion = reached;
    await sendPaced(producer, items, afterPromotion, { ...paced, done: async () => producer.sent.length >= afterPromotion + 3000 });
    await producer.flush();
    const kept = await eventually(async () => {
      const m = (await loop.models()).find((v) => v.model_version === promoted!.model_version);
      return m && /^kept after its probation/.test(m.decision_reason) ? m : undefined;
    }, `the probation's verdict\n${loop.why()}`, 180_000);
    t.diagnostic(`probation: ${kept.decision_reason}`);
    assert.equal(kept.stage, 'champion');
    const predictions = await eventually(async () => {
      const p = await loop.predictions();
      return p.size >= producer.sent.length ? p : undefined;
    }, `a prediction for every event\n${loop.why()}`, 180_000);
    const changed = producer.sent.slice(CHANGE_AT);
    const byOld = changed.filter(({ event }) => predictions.get(event.transaction_id)?.model_version === first.model_version);
    const byNew = changed.filter(({ event }) => predictions.get(event.transaction_id)?.model_version === promoted!.model_version);
    const before = liveAuc(byOld, predictions);
    const after = liveAuc(byNew, predictions);
    t.diagnostic(`live ROC AUC after the change: ${before.auc.toFixed(3)} served by v${first.model_version} (${before.n} events), ${after.auc.toFixed(3)} by v${promoted.model_version} (${after.n})`);
    assert.ok(after.n >= 1000, `${after.n} events served by the promoted model`);
    assert.ok(after.auc >= before.auc + RECOVERY_MARGIN, `live AUC ${after.auc} after the promotion vs ${before.auc} before it (margin ${RECOVERY_MARGIN})`);
  } finally {
    await loop.close();
  }
});

test('a promoted model that degrades during its probation is rolled back automatically, with a record and an alert', { skip, timeout: 900_000 }, async (t: TestContext) => {
  // A short window: the retrained model knows only the new method, so the old one coming back is its weakness.
  const loop = await startLoopPlatform(brokers!, 'loop-rollback', { ...LOOP_SPEC, training: { ...LOOP_SPEC.training, window: { last_rows: 1500 } } });
  try {
    const items = stream(12, loop.name, { conceptChange: { fromIndex: CHANGE_AT } });
    const producer = new CardProducer(loop, LABEL_LAG);
    const first = await firstModel(loop, producer, items);
    // The changed world until a retrained model is the challenger, then enough of it (labels included) for the online
    // decision, and a pause until it is promoted: no event of the changed world is left in flight to fill the probation.
    let challenger: ModelLine | undefined;
    const reached = await sendPaced(producer, items, 3000, {
      ...paced,
      done: async () => {
        challenger = (await loop.models()).find((m) => m.challenger && m.model_version > first.model_version);
        return challenger !== undefined;
      },
    });
    assert.ok(challenger, `no challenger\n${JSON.stringify(await loop.decisions(), null, 1)}\n${loop.why()}`);
    await sendPaced(producer, items, reached, { ...paced, done: async () => producer.sent.length >= reached + 1000 });
    await producer.flush();
    const promoted = await eventually(async () => {
      const m = (await loop.models()).find((v) => v.model_version === challenger!.model_version);
      if (m && m.stage !== 'challenger' && !(m.stage === 'champion' && m.serving)) throw new Error(`the challenger was not promoted: ${m.stage} — ${m.decision_reason}`);
      return m?.serving ? m : undefined;
    }, `the challenger promoted\n${loop.why()}`, 180_000);
    t.diagnostic(`promoted: v${promoted.model_version} after ${producer.sent.length - CHANGE_AT} changed events`);
    // The world changes back: the fraudsters return to their old method, which the previous champion knows.
    const last = producer.sent[producer.sent.length - 1].event.event_time;
    const oldWorld = stream(13, `${loop.name}-back`, { startTime: last + 90_000 }, 20_000);
    let rolledBack: ModelLine | undefined;
    await sendPaced(producer, oldWorld, 0, {
      ...paced,
      done: async () => {
        rolledBack = (await loop.models()).find((m) => m.model_version === promoted.model_version && m.stage === 'rejected');
        return rolledBack !== undefined;
      },
    });
    assert.ok(rolledBack, `no rollback\n${JSON.stringify(await loop.models(), null, 1)}\n${loop.why()}`);
    t.diagnostic(`rollback: ${rolledBack.decision_reason}`);
    assert.equal(rolledBack.decided_by, 'policy');
    assert.match(rolledBack.decision_reason, /^rolled back automatically after its probation against fraud-lr v1 on 600 labelled live events \(promotion\.probation_labels\): significantly worse than the previous champion/);
    assert.ok(rolledBack.decision_metrics.probation_auc_p_value <= 0.05 && rolledBack.decision_metrics.probation_auc_difference < 0, JSON.stringify(rolledBack.decision_metrics));
    const models = await loop.models();
    assert.equal(models.find((m) => m.serving)?.model_version, first.model_version, 'the previous champion serves again');
    const alert = await eventually(async () => (await loop.alerts()).find((a) => a.kind === 'model_rollback'), 'the model_rollback alert', 30_000);
    assert.deepEqual([alert.model_version, alert.statistic, alert.threshold], [promoted.model_version, 'delong', 0.05]);
  } finally {
    await loop.close();
  }
});
