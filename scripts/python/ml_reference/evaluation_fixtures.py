#!/usr/bin/env python3
"""Reference fixtures for libs/ml/src/evaluation and libs/ml/src/search, computed with scikit-learn / numpy.

    bash scripts/python/run.sh scripts/python/ml_reference/evaluation_fixtures.py

Writes libs/ml/src/fixtures/evaluation_sklearn.json (deterministic, seeds fixed; the unit tests read it):
  curves       per score set: precision_recall_curve, average_precision_score, auc(recall, precision), the
               max-F1 and target-precision thresholds chosen from the precision_recall_curve points, and
               calibration_curve (uniform and quantile, with numpy's bin edges and per-bin counts)
  folds        KFold / StratifiedKFold (no shuffle) and TimeSeriesSplit train/test index sets
  segments     sklearn metrics on the rows of each value of a categorical attribute, and the max - min gaps
  cv           cross_validate of StandardScaler + LogisticRegression(C=1) on the logreg_sklearn.json dataset
               (written by make_fixtures.py) with StratifiedKFold(5) and TimeSeriesSplit(4)
  halving      HalvingRandomSearchCV's n_resources_ / n_candidates_ schedules
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.experimental import enable_halving_search_cv  # noqa: F401  (registers HalvingRandomSearchCV)
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, auc, average_precision_score, brier_score_loss, f1_score, log_loss,
                             precision_recall_curve, precision_score, recall_score, roc_auc_score)
from sklearn.model_selection import HalvingRandomSearchCV, KFold, StratifiedKFold, TimeSeriesSplit, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from scipy.stats import loguniform

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = 'libs/ml/src/fixtures/evaluation_sklearn.json'


def nan_to_none(v):
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def max_f1_choice(p, r, t):
    """Highest F1 over the precision_recall_curve points that have a threshold; ties -> first index (numpy argmax
    over increasing thresholds, i.e. the lowest threshold). A 1e-12 tolerance makes ties robust to the rounding
    of 2PR/(P+R)."""
    p, r = p[:-1], r[:-1]
    with np.errstate(invalid='ignore', divide='ignore'):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    k = int(np.flatnonzero(f1 >= f1.max() - 1e-12)[0])
    return {'threshold': float(t[k]), 'precision': float(p[k]), 'recall': float(r[k]), 'f1': float(f1[k])}


def target_precision_choice(p, r, t, target):
    """Highest recall among points with precision >= target; among equal recall the highest precision."""
    p, r = p[:-1], r[:-1]
    ok = np.flatnonzero(p >= target)
    if ok.size == 0:
        return None
    best_recall = r[ok].max()
    same = ok[r[ok] == best_recall]
    k = int(same[np.argmax(p[same])])
    return {'threshold': float(t[k]), 'precision': float(p[k]), 'recall': float(r[k])}


def calibration_case(y, s, n_bins, strategy):
    prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins, strategy=strategy)
    # The edges and counts calibration_curve uses internally (its source, sklearn 1.x), for the table's extra columns.
    if strategy == 'quantile':
        edges = np.percentile(s, np.linspace(0, 1, n_bins + 1) * 100)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    binids = np.searchsorted(edges[1:-1], s)
    counts = np.bincount(binids, minlength=n_bins)
    return {'n_bins': n_bins, 'strategy': strategy, 'edges': edges.tolist(), 'counts': counts[counts > 0].tolist(),
            'prob_true': prob_true.tolist(), 'prob_pred': prob_pred.tolist()}


def curve_case(name, y, s):
    p, r, t = precision_recall_curve(y, s)
    case = {
        'name': name, 'y': y.tolist(), 'scores': s.tolist(),
        'pr_precision': p.tolist(), 'pr_recall': r.tolist(), 'pr_thresholds': t.tolist(),
        'average_precision': float(average_precision_score(y, s)),
        'pr_auc_trapezoid': float(auc(r, p)),
        'max_f1': max_f1_choice(p, r, t),
        'target_precision': {str(target): target_precision_choice(p, r, t, target) for target in (0.5, 0.7, 0.9, 1.0)},
        'calibration': [],
    }
    if s.min() >= 0 and s.max() <= 1:
        for n_bins in (5, 10):
            for strategy in ('uniform', 'quantile'):
                case['calibration'].append(calibration_case(y, s, n_bins, strategy))
    return case


def curves():
    rng = np.random.default_rng(21)
    out = []
    n = 501
    y = (rng.random(n) < 0.3).astype(int)
    # Two decimals: many ties, and many scores exactly on the uniform bin edges (0.1, 0.2, ...).
    tied = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.2, n), 0, 1), 2)
    tied[:4] = [0.0, 1.0, 0.5, 0.3]
    out.append(curve_case('tied', y, tied))
    # Continuous scores from a logistic link: no ties.
    z = 1.5 * y + rng.normal(0, 1.2, n) - 1.0
    out.append(curve_case('continuous', y, 1 / (1 + np.exp(-z))))
    # Few distinct values (heavy ties, quantile edges collapse onto data values).
    y3 = (rng.random(200) < 0.5).astype(int)
    s3 = np.where(y3 == 1, rng.choice([0.2, 0.6, 0.9], 200, p=[0.2, 0.3, 0.5]), rng.choice([0.2, 0.6, 0.9], 200, p=[0.5, 0.3, 0.2]))
    out.append(curve_case('three_values', y3, s3))
    # Scores that are not probabilities (margins): curves only.
    out.append(curve_case('margins', y[:120], np.round(z[:120] * 3, 1)))
    # Max F1 = 2/3 at two thresholds (0.9 and 0.6): the lower one is chosen.
    out.append(curve_case('f1_tie', np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0]),
                          np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])))
    return out


def folds():
    out = {'kfold': [], 'stratified': [], 'time_series': []}
    for n, k in [(23, 5), (10, 2), (12, 4)]:
        splits = [{'train': tr.tolist(), 'test': te.tolist()} for tr, te in KFold(n_splits=k).split(np.zeros(n))]
        out['kfold'].append({'n': n, 'k': k, 'folds': splits})
    rng = np.random.default_rng(4)
    y_bin = (rng.random(53) < 0.25).astype(int)
    y_multi = rng.choice([2, 0, 1], 40, p=[0.5, 0.3, 0.2])  # classes appear in a non-sorted order
    y_small = np.array([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])  # 2 positives, fewer than k
    for name, y, k in [('binary', y_bin, 5), ('binary', y_bin, 3), ('multiclass', y_multi, 4), ('small_class', y_small, 3)]:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the least populated class has fewer members than k
            splits = [{'train': tr.tolist(), 'test': te.tolist()} for tr, te in StratifiedKFold(n_splits=k).split(np.zeros(len(y)), y)]
        out['stratified'].append({'name': name, 'y': y.tolist(), 'k': k, 'folds': splits})
    for n, opts in [(30, {'n_splits': 5}), (31, {'n_splits': 5}), (30, {'n_splits': 4, 'test_size': 5, 'gap': 2}),
                    (30, {'n_splits': 3, 'max_train_size': 10}), (12, {'n_splits': 2, 'test_size': 3, 'gap': 1, 'max_train_size': 4})]:
        splits = [{'train': tr.tolist(), 'test': te.tolist()} for tr, te in TimeSeriesSplit(**opts).split(np.zeros(n))]
        out['time_series'].append({'n': n, 'options': opts, 'folds': splits})
    return out


def metrics_of(y, s, threshold):
    pred = (s >= threshold).astype(int)
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    both = len(np.unique(y)) == 2
    return {
        'n': int(len(y)), 'positives': int(y.sum()),
        'selection_rate': float(pred.mean()),
        'accuracy': accuracy_score(y, pred),
        'precision': precision_score(y, pred, zero_division=0),
        'recall': recall_score(y, pred, zero_division=0),
        'false_positive_rate': fp / (fp + tn) if fp + tn else 0.0,
        'f1': f1_score(y, pred, zero_division=0),
        'roc_auc': float(roc_auc_score(y, s)) if both else None,
        'average_precision': float(average_precision_score(y, s)) if y.sum() > 0 else None,
        'log_loss': float(log_loss(y, s, labels=[0, 1])),
        'brier': float(brier_score_loss(y, s, pos_label=1)) if both else float(np.mean((s - y) ** 2)),
    }


def segments():
    rng = np.random.default_rng(8)
    n = 400
    region = rng.choice(['north', 'south', 'east', 'west'], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    region[rng.random(n) < 0.05] = None
    y = (rng.random(n) < np.where(region == 'south', 0.45, 0.25)).astype(int)
    s = np.round(np.clip(0.35 * y + rng.normal(0.3, 0.2, n) + np.where(region == 'east', 0.1, 0.0), 0.001, 0.999), 3)
    threshold, min_size = 0.45, 30
    per = {}
    for key in ['north', 'south', 'east', 'west', None]:
        rows = np.array([(r == key) for r in region])
        per['(missing)' if key is None else key] = {k: nan_to_none(v) for k, v in metrics_of(y[rows], s[rows], threshold).items()}
    large = [m for m in per.values() if m['n'] >= min_size]

    def gap(k):
        vals = [m[k] for m in large if m[k] is not None]
        return max(vals) - min(vals) if len(vals) >= 2 else None

    gaps = {k: gap(k) for k in ('selection_rate', 'recall', 'false_positive_rate', 'precision', 'roc_auc')}
    gaps['equalized_odds'] = max(gaps['recall'], gaps['false_positive_rate'])
    return {'y': y.tolist(), 'scores': s.tolist(), 'segment': region.tolist(), 'threshold': threshold, 'min_size': min_size,
            'overall': metrics_of(y, s, threshold), 'per_segment': per, 'gaps': gaps}


def cv():
    with open(os.path.join(ROOT, 'libs/ml/src/fixtures/logreg_sklearn.json')) as f:
        data = json.load(f)
    X, y = np.array(data['X']), np.array(data['y'])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver='newton-cholesky', tol=1e-12, max_iter=1000))
    scoring = {'roc_auc': 'roc_auc', 'average_precision': 'average_precision', 'log_loss': 'neg_log_loss',
               'brier': 'neg_brier_score', 'accuracy': 'accuracy', 'f1': 'f1', 'precision': 'precision', 'recall': 'recall'}
    out = {}
    for name, splitter in [('stratified_5', StratifiedKFold(n_splits=5)), ('time_series_4', TimeSeriesSplit(n_splits=4))]:
        res = cross_validate(model, X, y, cv=splitter, scoring=scoring)
        per_fold, summary = {}, {}
        for metric in scoring:
            values = res[f'test_{metric}']
            if metric in ('log_loss', 'brier'):
                values = -values  # sklearn scorers negate losses
            per_fold[metric] = values.tolist()
            summary[metric] = {'mean': float(np.mean(values)), 'std': float(np.std(values))}
        out[name] = {'per_fold': per_fold, 'summary': summary}
    return out


def halving():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] + rng.normal(0, 1, 600) > 0).astype(int)
    out = []
    for n_candidates, factor, resource, min_r, max_r in [
        (20, 3, 'n_samples', 20, 600), (30, 2, 'n_samples', 50, 400), (10, 3, 'max_iter', 5, 100),
        (5, 4, 'n_samples', 10, 35), (9, 3, 'n_samples', 20, 180), (40, 3, 'max_iter', 2, 60),
    ]:
        search = HalvingRandomSearchCV(
            LogisticRegression(), {'C': loguniform(1e-3, 1e3)}, n_candidates=n_candidates, factor=factor,
            resource=resource, min_resources=min_r, max_resources=max_r, cv=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # ConvergenceWarning at small max_iter
            search.fit(X, y)
        out.append({'n_candidates': n_candidates, 'factor': factor, 'resource': resource, 'min_resources': min_r,
                    'max_resources': max_r, 'n_resources': [int(v) for v in search.n_resources_],
                    'n_candidates_per_rung': [int(v) for v in search.n_candidates_]})
    return out


def main():
    doc = {
        'generator': f'evaluation_fixtures.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}',
        'curves': curves(),
        'folds': folds(),
        'segments': segments(),
        'cv': cv(),
        'halving': halving(),
    }
    path = os.path.join(ROOT, OUT)
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
