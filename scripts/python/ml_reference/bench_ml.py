#!/usr/bin/env python3
"""scikit-learn side of `npm run bench:ml`: ROC AUC and fit time of HistGradientBoostingClassifier and
LogisticRegression on three datasets, with settings matched to libs/ml.

    bash scripts/python/run.sh scripts/python/ml_reference/bench_ml.py [--cache DIR] [--data-only] [--out FILE]

Datasets (deterministic; seeds fixed):
  breast_cancer    sklearn's bundled load_breast_cancer, stratified 75/25 split (random_state=0)
  classification_200k  make_classification(250 000 x 30, random_state=42); 200 000 train / 50 000 test rows
  mixed_missing    synthetic (numpy default_rng(11)), 40 000 rows: numeric columns with NaN (random and
                   informative missingness), two one-hot categoricals (a missing category gets its own column)
                   and one 50-level categorical ordinal-encoded by frequency rank (missing = NaN); 75/25 split

Each dataset is written to the cache (default ~/.cache/streamloop/bench-ml/, outside git) as raw little-endian
float32 row-major matrices (NaN = missing) and uint8 labels, plus manifest.json with shapes and sha256. The
TypeScript side (bench/ml/run.ts) reads those same bytes, so both libraries train on identical float32 values.

Unless --data-only, both models are fitted (median of 3 fits, 1 for the 200k set) with every native thread pool
limited to 2 threads, and bench/ml/sklearn-results.json is written: sizes, test ROC AUC and fit seconds, versions.
"""
import os

# Thread pools read these at import time: set them before numpy/scipy/sklearn are loaded.
THREADS = 2
for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS'):
    os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import numpy as np  # noqa: E402

try:
    import scipy  # noqa: E402
    import sklearn  # noqa: E402
    import threadpoolctl  # noqa: E402
    from sklearn.datasets import load_breast_cancer, make_classification  # noqa: E402
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
    from sklearn.impute import SimpleImputer  # noqa: E402
    from sklearn.linear_model import LogisticRegression  # noqa: E402
    from sklearn.metrics import roc_auc_score  # noqa: E402
    from sklearn.model_selection import train_test_split  # noqa: E402
    from sklearn.pipeline import make_pipeline  # noqa: E402
    from sklearn.preprocessing import StandardScaler  # noqa: E402
except ImportError as e:  # pragma: no cover - environment check
    sys.exit(f'bench_ml.py: {e}; run it with bash scripts/python/run.sh -r requirements-bench.txt (the project venv)')

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
DEFAULT_CACHE = os.path.join(os.path.expanduser('~'), '.cache', 'streamloop', 'bench-ml')
DEFAULT_OUT = os.path.join(ROOT, 'bench', 'ml', 'sklearn-results.json')
# Bumped when a dataset definition changes, so a stale cache is regenerated rather than silently reused.
DATA_VERSION = 1

GBDT_SETTINGS = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=False,
                     l2_regularization=0.0, max_bins=255)
LOGISTIC_SETTINGS = dict(C=1.0, max_iter=1000)


def breast_cancer():
    bc = load_breast_cancer()
    return bc.data, bc.target, dict(test_size=0.25), 3, \
        'sklearn.datasets.load_breast_cancer(); stratified train_test_split(test_size=0.25, random_state=0)'


def classification_200k():
    X, y = make_classification(n_samples=250_000, n_features=30, n_informative=12, n_redundant=6,
                               random_state=42)
    return X, y, dict(test_size=50_000), 1, \
        ('make_classification(n_samples=250000, n_features=30, n_informative=12, n_redundant=6, random_state=42); '
         'stratified train_test_split(test_size=50000, random_state=0): 200000 train rows')


def mixed_missing():
    """Numeric columns with NaN plus categoricals, encoded here once so both libraries get the same matrix."""
    rng = np.random.default_rng(11)
    n = 40_000
    num = rng.standard_normal((n, 10))
    num[:, 1] += 0.6 * num[:, 0]  # some correlation, so imputation and splits interact
    num[:, 7] = np.exp(0.8 * num[:, 7])  # skewed, amount-like
    num[:, 8] = np.round(np.abs(num[:, 8]) * 3)  # small counts
    region = rng.choice(6, size=n, p=[0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    channel = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    merchant = np.minimum(rng.zipf(1.4, size=n) - 1, 49)  # 50 levels, heavy head
    region_eff = np.array([0.0, 0.4, -0.3, 0.8, -0.6, 1.0])
    channel_eff = np.array([0.0, 0.7, -0.5])
    merchant_eff = rng.normal(0, 0.8, size=50)
    logit = (0.9 * num[:, 0] - 0.7 * num[:, 1] + 0.6 * num[:, 2] * num[:, 3] + 0.8 * np.sin(2 * num[:, 4])
             + 1.0 * (num[:, 5] > 1.0) + 0.4 * np.log(num[:, 7]) - 0.15 * num[:, 8]
             + region_eff[region] + channel_eff[channel] + merchant_eff[merchant] - 1.2)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    # Missingness after the labels: at random on 0-4 and 7, informative on 5 (large values go missing), 6 mostly.
    for j, rate in [(0, 0.1), (1, 0.15), (2, 0.1), (3, 0.2), (4, 0.1), (7, 0.05)]:
        num[rng.random(n) < rate, j] = np.nan
    num[(num[:, 5] > 0.8) & (rng.random(n) < 0.5), 5] = np.nan
    num[rng.random(n) < 0.4, 6] = np.nan
    region_missing = rng.random(n) < 0.05
    merchant_missing = rng.random(n) < 0.1
    # One-hot: region's six levels plus a 'missing' column; channel's three levels.
    region_oh = np.zeros((n, 7))
    region_oh[np.arange(n), np.where(region_missing, 6, region)] = 1
    channel_oh = np.eye(3)[channel]
    # Ordinal by frequency rank (most frequent = 0), missing = NaN: the high-cardinality column.
    counts = np.bincount(merchant, minlength=50)
    rank = np.empty(50)
    rank[np.argsort(-counts, kind='stable')] = np.arange(50)
    merchant_code = np.where(merchant_missing, np.nan, rank[merchant])
    X = np.column_stack([num, region_oh, channel_oh, merchant_code])
    return X, y, dict(test_size=0.25), 3, \
        ('synthetic, numpy default_rng(11), 40000 rows: 10 numeric (NaN 5-40 %, one informative), region one-hot '
         '(6 levels + missing column), channel one-hot (3), merchant ordinal by frequency (50 levels, NaN 10 %); '
         'stratified train_test_split(test_size=0.25, random_state=0)')


DATASETS = {'breast_cancer': breast_cancer, 'classification_200k': classification_200k, 'mixed_missing': mixed_missing}


def build(name):
    X, y, split, repeats, description = DATASETS[name]()
    X = X.astype(np.float32)  # both sides train on the same float32 values
    y = y.astype(np.uint8)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y, **split)
    parts = {'X_train': np.ascontiguousarray(X_tr, dtype='<f4'), 'y_train': np.ascontiguousarray(y_tr, dtype='u1'),
             'X_test': np.ascontiguousarray(X_te, dtype='<f4'), 'y_test': np.ascontiguousarray(y_te, dtype='u1')}
    return parts, repeats, description


def write_cache(cache, name, parts):
    os.makedirs(cache, exist_ok=True)
    digest = hashlib.sha256()
    files = {}
    for key, arr in parts.items():
        raw = arr.tobytes()
        digest.update(raw)
        fname = f'{name}.{key}.{"f32" if key.startswith("X") else "u8"}'
        with open(os.path.join(cache, fname), 'wb') as f:
            f.write(raw)
        files[key] = fname
    return files, digest.hexdigest()


def median_fit(make, X, y, repeats):
    seconds, model = [], None
    for _ in range(repeats):
        model = make()
        t0 = time.perf_counter()
        model.fit(X, y)
        seconds.append(time.perf_counter() - t0)
    return model, seconds


def evaluate(parts, repeats):
    # sklearn computes in float64; cast the float32 values once, outside the timed fit.
    X_tr = parts['X_train'].astype(np.float64)
    X_te = parts['X_test'].astype(np.float64)
    y_tr, y_te = parts['y_train'].astype(np.int64), parts['y_test'].astype(np.int64)
    out = {}
    gbdt, secs = median_fit(lambda: HistGradientBoostingClassifier(random_state=0, **GBDT_SETTINGS), X_tr, y_tr, repeats)
    out['gbdt'] = {'roc_auc': float(roc_auc_score(y_te, gbdt.predict_proba(X_te)[:, 1])),
                   'fit_seconds': statistics.median(secs), 'fit_seconds_all': secs, 'n_iter': int(gbdt.n_iter_)}
    # As TabularPipeline: mean/std over observed values, NaN -> the mean (0 after scaling), then L2 logistic
    # regression with C = 1/λ = 1. StandardScaler ignores NaN when fitting, so it must come before the imputer.
    lr, secs = median_fit(lambda: make_pipeline(StandardScaler(), SimpleImputer(strategy='constant', fill_value=0.0),
                                                LogisticRegression(**LOGISTIC_SETTINGS)), X_tr, y_tr, repeats)
    out['logistic'] = {'roc_auc': float(roc_auc_score(y_te, lr.predict_proba(X_te)[:, 1])),
                       'fit_seconds': statistics.median(secs), 'fit_seconds_all': secs,
                       'n_iter': int(lr[-1].n_iter_[0])}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cache', default=os.environ.get('STREAMLOOP_BENCH_ML_CACHE', DEFAULT_CACHE))
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--data-only', action='store_true', help='write the cached datasets, skip the scikit-learn fits')
    args = ap.parse_args()

    manifest = {'data_version': DATA_VERSION, 'numpy_version': np.__version__, 'sklearn_version': sklearn.__version__,
                'datasets': {}}
    results = {
        'generated_by': 'bash scripts/python/run.sh -r requirements-bench.txt scripts/python/ml_reference/bench_ml.py',
        'generated_at': datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'data_version': DATA_VERSION,
        'threads': THREADS,
        'machine': {'platform': platform.platform(), 'processor': platform.processor() or platform.machine(),
                    'cpu_count': os.cpu_count()},
        'versions': {'python': platform.python_version(), 'sklearn': sklearn.__version__, 'numpy': np.__version__,
                     'scipy': scipy.__version__, 'threadpoolctl': threadpoolctl.__version__},
        'settings': {'gbdt': GBDT_SETTINGS, 'logistic': {**LOGISTIC_SETTINGS, 'preprocessing':
                     'StandardScaler (fitted on observed values) -> NaN := 0 (the mean) -> LogisticRegression(lbfgs)'}},
        'datasets': {},
    }
    # Removed first: a run interrupted while rewriting the files must not leave a manifest that vouches for them.
    stale = os.path.join(args.cache, 'manifest.json')
    if os.path.exists(stale):
        os.remove(stale)
    with threadpoolctl.threadpool_limits(limits=THREADS):
        for name in DATASETS:
            parts, repeats, description = build(name)
            files, sha = write_cache(args.cache, name, parts)
            n_tr, d = parts['X_train'].shape
            info = {'description': description, 'n_train': int(n_tr), 'n_test': int(parts['X_test'].shape[0]),
                    'n_features': int(d), 'positive_rate_train': float(parts['y_train'].mean()),
                    'missing_fraction': float(np.isnan(parts['X_train']).mean()), 'data_sha256': sha, 'repeats': repeats}
            manifest['datasets'][name] = {**info, 'files': files}
            print(f'{name}: {n_tr} train / {info["n_test"]} test rows x {d} features -> {args.cache}', flush=True)
            if not args.data_only:
                models = evaluate(parts, repeats)
                results['datasets'][name] = {**info, 'models': models}
                for m, r in models.items():
                    print(f'  {m:9s} ROC AUC {r["roc_auc"]:.6f}  fit {r["fit_seconds"]:.3f} s (median of {repeats})',
                          flush=True)
    # The manifest last: its presence means every file above is complete.
    with open(os.path.join(args.cache, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    if not args.data_only:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
            f.write('\n')
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
