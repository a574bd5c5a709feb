#!/usr/bin/env python3
"""Reference fixtures for libs/promotion's paired model comparisons, computed with MLstatkit and scipy.

    bash scripts/python/run.sh scripts/python/promotion_reference/make_fixtures.py

Writes libs/promotion/src/fixtures/paired_tests.json (deterministic: seeds fixed; the unit tests read it, they do not
run Python):
  cases    labels and two models' scores (6 decimals; some cases rounded coarser to make ties), with
           MLstatkit.Delong_test (z signed as B - A, two-sided p, both AUCs, the variance of the difference) and
           scipy.stats.ttest_rel on the per-event log losses (B - A), with both mean log losses
  special  scipy.stats.norm.sf / norm.ppf and scipy.stats.t.sf spot values
"""
import json
import os

import MLstatkit
import numpy as np
import scipy
from MLstatkit import Delong_test
from scipy import stats

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'libs/promotion/src/fixtures/paired_tests.json')
EPS = 1e-15


def scores(rng, y, signal, noise_shared, noise_own, shared):
    """A model's probability: a logistic of the label's signal, noise shared with the other model, and its own."""
    margin = signal * (2 * y - 1) + noise_shared * shared + noise_own * rng.standard_normal(len(y))
    return 1 / (1 + np.exp(-margin))


def log_losses(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def case(name, seed, n, prevalence, signal_a, signal_b, decimals=6):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    if y.sum() == 0:
        y[0] = 1
    if y.sum() == n:
        y[0] = 0
    shared = rng.standard_normal(n)
    a = np.round(scores(rng, y, signal_a, 1.0, 0.6, shared), decimals)
    b = np.round(scores(rng, y, signal_b, 1.0, 0.6, shared), decimals)
    z, p, ci_a, ci_b, auc_a, auc_b, info = Delong_test(y, a, b, return_ci=True, return_auc=True)
    la, lb = log_losses(y, a), log_losses(y, b)
    t = stats.ttest_rel(lb, la)
    return {
        'name': name, 'labels': y.tolist(), 'a': a.tolist(), 'b': b.tolist(),
        'delong': {'method': info['method'], 'z': float(z), 'p_value': float(p), 'auc_a': float(auc_a), 'auc_b': float(auc_b),
                   'var_diff': float(info.get('var_diff', float('nan')))},
        'log_loss': {'a': float(la.mean()), 'b': float(lb.mean()), 't': float(t.statistic), 'p_value': float(t.pvalue), 'df': int(n - 1)},
    }


def main():
    cases = [
        case('equal models, balanced, n=200', 1, 200, 0.5, 1.0, 1.0),
        case('candidate better, n=500, 10% positive', 2, 500, 0.1, 0.8, 1.4),
        case('candidate worse, n=1000, 3% positive', 3, 1000, 0.03, 1.5, 1.0),
        case('small, n=40', 4, 40, 0.4, 1.0, 1.3),
        case('ties: scores to one decimal, n=300', 5, 300, 0.3, 1.0, 1.2, decimals=1),
        case('large, n=5000, 1% positive', 6, 5000, 0.01, 1.2, 1.3),
    ]
    special = {
        'norm_sf': [[x, float(stats.norm.sf(x))] for x in [-3.0, -1.0, 0.0, 0.5, 1.959963984540054, 3.0, 5.0, 8.0, 12.0]],
        'norm_ppf': [[q, float(stats.norm.ppf(q))] for q in [1e-10, 0.001, 0.025, 0.1, 0.5, 0.9, 0.975, 0.999, 1 - 1e-10]],
        't_sf': [[x, df, float(stats.t.sf(x, df))] for x in [-2.0, 0.0, 0.3, 1.0, 2.5, 6.0, 15.0] for df in [1, 3, 10, 39, 199, 4999]],
    }
    versions = {'MLstatkit': MLstatkit.__version__ if hasattr(MLstatkit, '__version__') else 'unknown', 'scipy': scipy.__version__, 'numpy': np.__version__}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({'versions': versions, 'eps': EPS, 'cases': cases, 'special': special}, f)
        f.write('\n')
    print(f'wrote {OUT}: {len(cases)} cases')


if __name__ == '__main__':
    main()
