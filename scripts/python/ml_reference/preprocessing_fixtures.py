#!/usr/bin/env python3
"""Reference numbers for libs/ml/src/preprocessing, computed with scikit-learn.

    bash scripts/python/run.sh scripts/python/ml_reference/preprocessing_fixtures.py

Writes libs/ml/src/fixtures/preprocessing_sklearn.json (deterministic, seeds fixed; the unit test
libs/ml/src/preprocessing/preprocessor.test.ts reads it, it does not run Python). Sections:

  numeric   Pipeline(SimpleImputer(strategy, keep_empty_features=True), StandardScaler()) per strategy (mean,
            median, most_frequent, constant with fill_value) on 5 columns with NaN: a continuous one, a small-integer
            one (ties), a crafted tie column (most_frequent must pick the smallest), a constant column (scale 1) and a
            column that is all NaN in training (imputed 0). Imputer statistics_, scaler mean_ / scale_, and the
            transformed held-out rows (NaN and values never seen in training included).
  onehot    OneHotEncoder(handle_unknown='infrequent_if_exist', sparse_output=False) with several min_frequency /
            max_categories settings on string columns (unicode and astral characters, so the sort order is tested;
            a column of equal counts, so sklearn's stable tie rule for max_categories is tested). categories_,
            infrequent_categories_ and the transform of held-out rows with unseen values. Missing held-out values
            are given to sklearn as a string never seen in training (the TypeScript side maps missing to the unknown
            bucket, which is what sklearn does with an unseen value).
  hashing   FeatureHasher(n_features=k, input_type='dict', alternate_sign=...) on [{column: value}] per row (a
            missing value = the key left out), dense output; and sklearn.utils.murmurhash3_32 of a list of strings
            (signed and positive, seeds 0 and 42).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.feature_extraction import FeatureHasher
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import murmurhash3_32

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'libs', 'ml', 'src', 'fixtures', 'preprocessing_sklearn.json')
MISSING_FOR_SKLEARN = '\u0000missing'  # never a training value


def clean(v):
    """JSON has no NaN: write None (null), which the TypeScript side reads back as NaN / missing."""
    if isinstance(v, np.ndarray):
        return clean(v.tolist())
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        return clean(v.item())
    return v


def numeric_section():
    rng = np.random.default_rng(3)
    n_train, n_test = 201, 40
    n = n_train + n_test
    a = np.round(rng.normal(50, 10, n), 3)
    b = rng.integers(0, 6, n).astype(float)
    c = np.tile([7.0, -1.5, 2.0, 2.0, -1.5, 7.0], n // 6 + 1)[:n]  # -1.5, 2 and 7 equally frequent
    d = np.full(n, 3.25)
    e = rng.normal(0, 1, n)
    X = np.column_stack([a, b, c, d, e])
    X[rng.random(X.shape) < 0.12] = np.nan
    X[:n_train, 4] = np.nan  # column e: nothing observed in training
    # c keeps its exact three-way tie among the observed training values: NaN placed in whole groups of six.
    X[:n_train, 2] = c[:n_train]
    X[0:6, 2] = np.nan
    # Median of an even number of observed values is the mean of the middle two: give a and b even counts.
    for j in (0, 1):
        if np.count_nonzero(~np.isnan(X[:n_train, j])) % 2 == 1:
            X[7, j] = np.nan if not np.isnan(X[7, j]) else 1.0
    X[n_train:n_train + 3] = [[1e4, 99.0, 123.0, -8.0, 0.5], [np.nan] * 5, [-1e-3, 2.5, np.nan, np.nan, -2.0]]
    train, test = X[:n_train], X[n_train:]
    cases = []
    for strategy, fill in [('mean', None), ('median', None), ('most_frequent', None), ('constant', -2.5)]:
        kwargs = {'strategy': strategy, 'keep_empty_features': True}
        if fill is not None:
            kwargs['fill_value'] = fill
        imputer_only = SimpleImputer(**kwargs).fit(train)
        pipe = Pipeline([('impute', SimpleImputer(**kwargs)), ('scale', StandardScaler())]).fit(train)
        cases.append({
            'strategy': strategy,
            'fill_value': fill,
            'statistics': clean(pipe.named_steps['impute'].statistics_),
            'scaler_mean': clean(pipe.named_steps['scale'].mean_),
            'scaler_scale': clean(pipe.named_steps['scale'].scale_),
            'imputed_test': clean(imputer_only.transform(test)),
            'standardized_test': clean(pipe.transform(test)),
        })
    return {'columns': ['a', 'b', 'c', 'd', 'e'], 'train': clean(train), 'test': clean(test), 'cases': cases}


def onehot_section():
    rng = np.random.default_rng(5)
    vocab = ['US', 'GB', 'DE', 'FR', 'Zürich', 'zz', 'A', 'b', 'é-café', '日本', '😀', '\uff5e']
    weights = np.array([40, 25, 12, 10, 6, 5, 4, 3, 3, 2, 2, 1], dtype=float)
    n_train = 300
    country = rng.choice(vocab, size=n_train, p=weights / weights.sum()).tolist()
    tier = (['a'] * 10 + ['b'] * 10 + ['c'] * 10 + ['d'] * 10 + ['e'] * 5)
    tier = [tier[i] for i in rng.permutation(len(tier))]
    test_country = ['US', 'XX', None, '😀', '🙂', 'zz', '\uff5e', 'A', 'a', 'GB', None, 'Zürich']
    test_tier = ['a', 'b', 'c', 'd', 'e', 'f', None, 'a']
    cases = []
    for column, train, test in [('country', country, test_country), ('tier', tier, test_tier)]:
        settings = [{}, {'min_frequency': 10}, {'min_frequency': 0.05}, {'max_categories': 4},
                    {'max_categories': 5, 'min_frequency': 3}, {'max_categories': 1}]
        if column == 'tier':
            settings = [{}, {'max_categories': 3}, {'max_categories': 4}, {'min_frequency': 6}]
        for s in settings:
            enc = OneHotEncoder(handle_unknown='infrequent_if_exist', sparse_output=False, **s)
            enc.fit(np.array(train, dtype=object).reshape(-1, 1))
            test_for_sklearn = [MISSING_FOR_SKLEARN if v is None else v for v in test]
            out = enc.transform(np.array(test_for_sklearn, dtype=object).reshape(-1, 1))
            # infrequent_categories_ exists only when min_frequency or max_categories is set.
            infrequent = enc.infrequent_categories_[0] if enc._infrequent_enabled else None
            cases.append({
                'column': column,
                'max_categories': s.get('max_categories'),
                'min_frequency': s.get('min_frequency'),
                'categories': [str(x) for x in enc.categories_[0]],
                'infrequent': None if infrequent is None else [str(x) for x in infrequent],
                'test': test,
                'transformed_test': clean(out),
            })
    return {'train': {'country': country, 'tier': tier}, 'cases': cases}


def hashing_section():
    merchants = ['amazon', 'Café Zürich', '日本の店', '😀 shop', 'x' * 37, 'walmart', 'amazon', None, 'a=b', 'Amazon']
    devices = ['ios', 'android', None, 'web', 'ios', 'android', 'web', 'ios', 'tv', None]
    cases = []
    for column, values in [('merchant', merchants), ('device', devices)]:
        for k, alternate in [(8, True), (8, False), (1, True), (1000, True), (3, True)]:
            hasher = FeatureHasher(n_features=k, input_type='dict', alternate_sign=alternate)
            rows = [{} if v is None else {column: v} for v in values]
            cases.append({
                'column': column,
                'buckets': k,
                'alternate_sign': alternate,
                'values': values,
                'transformed': clean(hasher.transform(rows).toarray()),
            })
    strings = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'hello world', 'merchant=Café', '日本', '😀', 'x' * 100, 'device=ios']
    murmur = [{
        'text': s,
        'seed': seed,
        'signed': int(murmurhash3_32(s, seed=seed)),
        'positive': int(murmurhash3_32(s, seed=seed, positive=True)),
    } for s in strings for seed in (0, 42)]
    return {'cases': cases, 'murmurhash3_32': murmur}


def main():
    doc = {
        'generator': f'preprocessing_fixtures.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}',
        'numeric': numeric_section(),
        'onehot': onehot_section(),
        'hashing': hashing_section(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump(doc, f, separators=(',', ':'), ensure_ascii=False)
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
