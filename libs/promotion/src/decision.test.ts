// The promotion rule's error rates by simulation: two equally good models (A/A) must be promoted at no more than the
// nominal alpha, a truly better one almost always; and the rule's reasons name the numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@streamloop/ml';
import { decidePromotion, decideProbation } from './decision';
import { delongTest, pairedLogLossTest } from './paired-tests';

/**
 * One labelled window scored by two models: each a logistic of the label's signal, noise both models share (the
 * events' own difficulty), and noise of its own; equal signals make the models equally good.
 */
function window(rnd: () => number, n: number, prevalence: number, signalChampion: number, signalCandidate: number) {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const labels: number[] = [];
  const champion: number[] = [];
  const candidate: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rnd() < prevalence ? 1 : 0;
    const shared = gauss();
    const score = (signal: number) => 1 / (1 + Math.exp(-(signal * (2 * y - 1) + shared + 0.6 * gauss())));
    labels.push(y);
    champion.push(score(signalChampion));
    candidate.push(score(signalCandidate));
  }
  return { labels, champion, candidate };
}

function promotionRate(runs: number, signalCandidate: number, alpha: number, seed: number): number {
  const rnd = seededRandom(seed);
  let promoted = 0;
  for (let r = 0; r < runs; r++) {
    const w = window(rnd, 1000, 0.1, 1, signalCandidate);
    const decision = decidePromotion(delongTest(w.labels, w.champion, w.candidate), pairedLogLossTest(w.labels, w.champion, w.candidate), { alpha, minAucGain: 0 });
    if (decision.verdict === 'promote') promoted++;
  }
  return promoted / runs;
}

test('A/A: two equally good models are promoted at no more than alpha (1,000 simulated windows of 1,000 events each; 10,000 gave 0.0514 at alpha 0.05)', () => {
  {
    const alpha = 0.05;
    const runs = 1000;
    const rate = promotionRate(runs, 1, alpha, 101);
    const bound = alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs);
    assert.ok(rate <= bound, `false promotions ${rate} at alpha ${alpha} (bound ${bound.toFixed(4)})`);
    // The test is not vacuous: near its nominal size, not far below it.
    assert.ok(rate >= alpha / 3, `false promotions ${rate} at alpha ${alpha}: far below the nominal rate, the test has lost its power`);
  }
});

test('a better candidate is promoted in most windows; a worse one never', () => {
  assert.ok(promotionRate(150, 1.3, 0.05, 303) > 0.9, 'a candidate with a clearly stronger signal');
  assert.equal(promotionRate(150, 0.7, 0.05, 404), 0, 'a weaker candidate');
});

test('the reasons say which check decided, with the numbers', () => {
  const rnd = seededRandom(7);
  const better = window(rnd, 2000, 0.2, 1, 1.4);
  const promote = decidePromotion(delongTest(better.labels, better.champion, better.candidate), pairedLogLossTest(better.labels, better.champion, better.candidate), { alpha: 0.05, minAucGain: 0 });
  assert.equal(promote.verdict, 'promote');
  assert.match(promote.reason, /^better: AUC 0\.\d{4} vs 0\.\d{4} \(difference \+0\.\d{4}, 95 % CI \[\+0\.\d{4}, \+0\.\d{4}\], one-sided p [\d.e-]+\), log loss .* on 2000 events \(\d+ positive\)$/);
  assert.ok(promote.metrics.auc_difference > 0 && promote.metrics.auc_p_value < 0.05 && promote.metrics.n === 2000);
  const small = decidePromotion(delongTest(better.labels, better.champion, better.candidate), pairedLogLossTest(better.labels, better.champion, better.candidate), { alpha: 0.05, minAucGain: 0.5 });
  assert.equal(small.verdict, 'reject');
  assert.match(small.reason, /^AUC gain \+0\.\d{4} below the minimum 0\.5/);
  const same = window(rnd, 500, 0.2, 1, 1);
  const notSignificant = decidePromotion(delongTest(same.labels, same.champion, same.champion), pairedLogLossTest(same.labels, same.champion, same.champion), { alpha: 0.05, minAucGain: 0 });
  assert.match(notSignificant.reason, /^AUC gain not significant \(one-sided p 1\.0000 > 0\.05\)/);
  // Same ranking (AUC unchanged), probabilities pushed to the extremes: log loss much worse.
  const overconfident = same.champion.map((s) => (s > 0.5 ? 1 - 1e-9 : 1e-9 + 0 * s));
  const worse = decidePromotion(delongTest(same.labels, same.champion, overconfident), pairedLogLossTest(same.labels, same.champion, overconfident), { alpha: 0.05, minAucGain: 0 });
  assert.match(worse.reason, /^log loss significantly worse/);
  assert.throws(() => decidePromotion(delongTest(same.labels, same.champion, same.champion), pairedLogLossTest(same.labels, same.champion, same.champion), { alpha: 5, minAucGain: 0 }), /alpha must be in \(0, 1\), got 5/);
});

/** Share of probations that roll back a new champion whose signal is `signalNew` against a previous one's 1. */
function rollbackRate(runs: number, signalNew: number, alpha: number, seed: number): number {
  const rnd = seededRandom(seed);
  let rolledBack = 0;
  for (let r = 0; r < runs; r++) {
    // The new champion in the "champion" seat, the previous one as the "candidate".
    const w = window(rnd, 1000, 0.1, signalNew, 1);
    if (decideProbation(delongTest(w.labels, w.champion, w.candidate), pairedLogLossTest(w.labels, w.champion, w.candidate), { alpha }).verdict === 'roll_back') rolledBack++;
  }
  return rolledBack / runs;
}

test('probation A/A: a new champion as good as the previous one is rolled back at no more than alpha; a worse one almost always', () => {
  const alpha = 0.05;
  const runs = 1000;
  const rate = rollbackRate(runs, 1, alpha, 505);
  assert.ok(rate <= alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs), `false rollbacks ${rate} at alpha ${alpha}`);
  assert.ok(rate >= alpha / 3, `false rollbacks ${rate}: far below the nominal rate, the test has lost its power`);
  assert.ok(rollbackRate(150, 0.7, alpha, 606) > 0.9, 'a clearly worse new champion');
  assert.equal(rollbackRate(150, 1.3, alpha, 707), 0, 'a better new champion is never rolled back');
});

test('the probation\'s reason and numbers read from the new champion\'s side: a negative difference is worse', () => {
  const w = window(seededRandom(8), 2000, 0.2, 0.6, 1);
  const decision = decideProbation(delongTest(w.labels, w.champion, w.candidate), pairedLogLossTest(w.labels, w.champion, w.candidate), { alpha: 0.05 });
  assert.equal(decision.verdict, 'roll_back');
  assert.match(decision.reason, /^significantly worse than the previous champion \(one-sided p .* ≤ 0\.05\): AUC 0\.\d{4} vs the previous champion's 0\.\d{4} \(difference -0\.\d{4}/);
  assert.ok(decision.metrics.auc_difference < 0 && decision.metrics.auc_ci_high < 0, JSON.stringify(decision.metrics));
  assert.ok(decision.metrics.auc_champion < decision.metrics.auc_previous);
});
