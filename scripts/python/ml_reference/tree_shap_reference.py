#!/usr/bin/env python3
"""Reference SHAP values for libs/ml's TreeSHAP (libs/ml/src/explain/tree-shap.ts), computed with the shap package.

    bash scripts/python/run.sh scripts/python/ml_reference/tree_shap_reference.py

Writes (deterministic, numpy default_rng(11); the unit test libs/ml/src/explain/tree-shap.test.ts reads it, it does
not run Python):
  libs/ml/src/fixtures/tree_shap_shap.json

The ensemble is random rather than fitted, so it has what fitted GBDTs rarely show in a small file: deep paths that
split on the same feature several times, NaN sent either way, uneven covers and rows that sit exactly
on a threshold. It is stored in the GbdtJSON layout that GradientBoostedTrees.fromJSON reads
(go left when x <= threshold, NaN follows missingGoesLeft, count = cover) and handed to shap.TreeExplainer as a
custom tree dictionary with the same meaning (children_default = the NaN branch, node_sample_weight = count), with
feature_perturbation='tree_path_dependent' and float64 inputs. shap's expected value is the root's value, so
internal nodes hold the cover-weighted mean of their children.
"""
import json
import os

import numpy as np
import shap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'libs', 'ml', 'src', 'fixtures', 'tree_shap_shap.json')

N_FEATURES = 6
N_TREES = 12
N_ROWS = 40
NAN_SHARE = 0.15


def random_tree(rng, max_depth):
    """Nodes in pre-order (children after their parent), as lists keyed like GbdtTree."""
    t = {k: [] for k in ('feature', 'threshold', 'missingGoesLeft', 'left', 'right', 'value', 'gain', 'count')}

    def add(depth):
        k = len(t['feature'])
        for key in t:
            t[key].append(None)
        leaf = depth >= max_depth or (depth > 0 and rng.random() < 0.25)
        if leaf:
            t['feature'][k], t['threshold'][k], t['missingGoesLeft'][k] = -1, 0.0, False
            t['left'][k] = t['right'][k] = -1
            t['value'][k] = float(np.round(rng.normal(0, 1), 6))
            t['gain'][k] = 0.0
            # shap refuses leaves no training row reached (tree_path_dependent needs every leaf covered).
            t['count'][k] = int(rng.integers(1, 60))
            return k
        # A small feature pool per tree so paths repeat features.
        t['feature'][k] = int(rng.integers(0, N_FEATURES))
        t['threshold'][k] = float(np.float32(rng.uniform(-1, 1)))
        t['missingGoesLeft'][k] = bool(rng.random() < 0.5)
        t['gain'][k] = float(np.round(rng.uniform(0, 5), 6))
        t['left'][k] = add(depth + 1)
        t['right'][k] = add(depth + 1)
        cl, cr = t['count'][t['left'][k]], t['count'][t['right'][k]]
        t['count'][k] = cl + cr
        t['value'][k] = (cl * t['value'][t['left'][k]] + cr * t['value'][t['right'][k]]) / (cl + cr)
        return k

    add(0)
    return t


def main():
    rng = np.random.default_rng(11)
    trees = [random_tree(rng, max_depth=int(rng.integers(1, 8))) for _ in range(N_TREES)]
    baseline = -0.25

    X = rng.uniform(-1, 1, size=(N_ROWS, N_FEATURES))
    # Some values exactly on a threshold of their feature (x <= threshold goes left).
    splits = [(f, th) for t in trees for f, th in zip(t['feature'], t['threshold']) if f >= 0]
    for i in range(0, N_ROWS, 4):
        f, th = splits[int(rng.integers(0, len(splits)))]
        X[i, f] = th
    X[rng.random(X.shape) < NAN_SHARE] = np.nan

    model = {
        'trees': [
            {
                'children_left': np.array(t['left']),
                'children_right': np.array(t['right']),
                'children_default': np.array([l if m else r for l, r, m in zip(t['left'], t['right'], t['missingGoesLeft'])]),
                'feature': np.array(t['feature']),
                'threshold': np.array(t['threshold'], dtype=np.float64),
                'value': np.array(t['value'], dtype=np.float64)[:, None],
                'node_sample_weight': np.array(t['count'], dtype=np.float64),
            }
            for t in trees
        ],
        'base_offset': baseline,
        'input_dtype': np.float64,
        'internal_dtype': np.float64,
    }
    explainer = shap.TreeExplainer(model, feature_perturbation='tree_path_dependent')
    phi = explainer.shap_values(X)
    expected = float(np.ravel(explainer.expected_value)[0])

    # shap's own check, before writing: contributions + expected value = the ensemble's margin.
    def margin(row):
        s = baseline
        for t in trees:
            k = 0
            while t['left'][k] >= 0:
                x = row[t['feature'][k]]
                go_left = t['missingGoesLeft'][k] if np.isnan(x) else x <= t['threshold'][k]
                k = t['left'][k] if go_left else t['right'][k]
            s += t['value'][k]
        return s

    margins = np.array([margin(r) for r in X])
    assert np.allclose(phi.sum(1) + expected, margins, atol=1e-9), 'shap values do not add up to the margins'

    doc = {
        'description': 'shap.TreeExplainer (tree_path_dependent) on a random GBDT-like ensemble; rows with NaN (null) '
                       'and values on thresholds. Written by scripts/python/ml_reference/tree_shap_reference.py',
        'shap_version': shap.__version__,
        'model': {
            'kind': 'gbdt',
            'version': 1,
            'task': 'regression',
            'featureNames': [f'f{j}' for j in range(N_FEATURES)],
            'baseline': baseline,
            'learningRate': 1.0,
            'trees': trees,
        },
        'rows': [[None if np.isnan(v) else float(v) for v in r] for r in X],
        'margins': margins.tolist(),
        'expected_value': expected,
        'shap_values': phi.tolist(),
    }
    with open(OUT, 'w') as f:
        json.dump(doc, f)
        f.write('\n')
    print(f'wrote {OUT}: {N_TREES} trees, {N_ROWS} rows, expected value {expected:.6f}, shap {shap.__version__}')


if __name__ == '__main__':
    main()
