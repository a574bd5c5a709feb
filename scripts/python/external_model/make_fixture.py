#!/usr/bin/env python3
"""A model trained outside Streamloop: a scikit-learn classifier on the fraud pipeline's features, exported with
skl2onnx, committed with the rows it was checked on and scikit-learn's own predictions for them.

    bash scripts/python/run.sh scripts/python/external_model/make_fixture.py

Writes (deterministic, seeds fixed; the tests read these files, they do not run Python):
  examples/models/fraud-sklearn/model.onnx     Pipeline(SimpleImputer, StandardScaler, LogisticRegression) as ONNX,
                                                zipmap off, outputs renamed to output_label / output_probability
  examples/models/fraud-sklearn/mapping.json   the declared signature: input tensor name, the pipeline feature feeding
                                                each model column (in the model's own column order, which is not the
                                                pipeline's), the probability output and the positive class column
  examples/models/fraud-sklearn/expected.json  held-out rows as full fraud feature vectors (all 20 features, null =
                                                missing) with sklearn's predict_proba and predict for each

The rows are rounded to float32 before sklearn scores them: the ONNX graph (and Streamloop's inference path) reads
float32 inputs, so both sides see the same numbers and the remaining difference is float32 arithmetic only.
"""
import hashlib
import json
import os

import numpy as np
import onnx
import sklearn
import skl2onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT_DIR = os.path.join(ROOT, 'examples', 'models', 'fraud-sklearn')
SEED = 20240611
N_TRAIN = 4000
N_CHECK = 120

CATEGORIES = ['grocery', 'restaurant', 'electronics', 'gaming', 'travel']
# Every feature examples/pipelines/fraud.yaml produces, in the pipeline's order (featureNamesOf(spec.features)).
PIPELINE_FEATURES = [
    'amount', 'log_amount', 'is_online', 'hour_of_day',
    *[f'category={c}' for c in CATEGORIES], 'category=__other__',
    'amount_clipped', 'amount_bucket', 'foreign', 'amount_vs_card_mean',
    'card_txn_count_1h', 'card_txn_count_24h', 'card_amount_mean_24h', 'card_amount_max_24h',
    'card_secs_since_last', 'merchant_txn_count_1h',
]
# The external model's own columns: a subset, in an order of its author's choosing. The mapping says which pipeline
# feature feeds each column, so the order differing from the pipeline's is exactly what the test exercises.
MODEL_COLUMNS = [
    'foreign', 'log_amount', 'is_online', 'hour_of_day', 'amount_vs_card_mean', 'card_txn_count_1h',
    'card_secs_since_last', 'category=electronics', 'category=gaming', 'merchant_txn_count_1h',
]
INPUT_NAME = 'float_input'
LABEL_OUTPUT = 'output_label'
PROBABILITY_OUTPUT = 'output_probability'


def synthetic_vectors(rng, n):
    """Fraud-like feature vectors with the pipeline's feature names, and a label drawn from a hidden logistic model."""
    fraud_prone = rng.random(n) < 0.15
    amount = np.round(np.exp(rng.normal(3.4 + 0.9 * fraud_prone, 1.1)), 2)
    is_online = (rng.random(n) < np.where(fraud_prone, 0.75, 0.35)).astype(float)
    night = rng.random(n) < np.where(fraud_prone, 0.5, 0.1)
    hour = np.where(night, rng.integers(0, 6, n), rng.integers(6, 24, n)).astype(float)
    weights = np.array([0.35, 0.25, 0.12, 0.08, 0.12, 0.08])
    category = np.array([rng.choice(6, p=weights) if not f else rng.choice(6, p=[0.1, 0.1, 0.35, 0.3, 0.1, 0.05])
                         for f in fraud_prone])
    foreign = (rng.random(n) < np.where(fraud_prone, 0.45, 0.08)).astype(float)
    new_card = rng.random(n) < 0.12
    card_mean = np.where(new_card, np.nan, np.round(np.exp(rng.normal(3.4, 0.8, n)), 2))
    count_1h = np.where(new_card, 0, rng.poisson(np.where(fraud_prone, 2.5, 0.4))).astype(float)
    count_24h = count_1h + np.where(new_card, 0, rng.poisson(3.0, n))
    card_max = np.where(new_card, np.nan, np.round(card_mean * (1 + rng.exponential(0.8, n)), 2))
    secs_since_last = np.where(new_card, np.nan, np.round(rng.exponential(np.where(fraud_prone, 900.0, 20000.0)), 0))
    merchant_1h = rng.poisson(6.0, n).astype(float)

    columns = {
        'amount': amount,
        'log_amount': np.log1p(amount),
        'is_online': is_online,
        'hour_of_day': hour,
        **{f'category={c}': (category == i).astype(float) for i, c in enumerate(CATEGORIES)},
        'category=__other__': (category == 5).astype(float),
        'amount_clipped': np.clip(amount, 0, 5000),
        'amount_bucket': np.searchsorted([10, 50, 200, 1000], amount, side='right').astype(float),
        'foreign': foreign,
        'amount_vs_card_mean': amount / card_mean,
        'card_txn_count_1h': count_1h,
        'card_txn_count_24h': count_24h,
        'card_amount_mean_24h': card_mean,
        'card_amount_max_24h': card_max,
        'card_secs_since_last': secs_since_last,
        'merchant_txn_count_1h': merchant_1h,
    }
    # Rounded to float32 once, here: the values the fixture holds are the values both sides score.
    table = np.column_stack([columns[name] for name in PIPELINE_FEATURES]).astype(np.float32).astype(np.float64)
    logit = (-3.0 + 1.6 * fraud_prone + 0.9 * foreign + 0.5 * is_online + 0.6 * night
             + 0.4 * np.nan_to_num(np.log(amount / card_mean), nan=0.5) + 0.3 * count_1h)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return table, labels


def model_matrix(table):
    index = [PIPELINE_FEATURES.index(name) for name in MODEL_COLUMNS]
    return table[:, index]


def as_json_number(v):
    """JSON has no NaN: a missing feature is written as null (the TypeScript side reads it back as NaN)."""
    return None if np.isnan(v) else float(v)


def main():
    rng = np.random.default_rng(SEED)
    table, labels = synthetic_vectors(rng, N_TRAIN + N_CHECK)
    train_table, check_table = table[:N_TRAIN], table[N_TRAIN:]
    model = Pipeline([
        ('impute', SimpleImputer(strategy='median')),
        ('scale', StandardScaler()),
        ('classify', LogisticRegression(C=1.0, max_iter=2000)),
    ])
    model.fit(model_matrix(train_table), labels[:N_TRAIN])
    assert list(model.classes_) == [0, 1], model.classes_

    onx = convert_sklearn(
        model,
        name='fraud-sklearn',
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(MODEL_COLUMNS)]))],
        final_types=[(LABEL_OUTPUT, Int64TensorType([None])), (PROBABILITY_OUTPUT, FloatTensorType([None, 2]))],
        options={id(model): {'zipmap': False}},
        target_opset={'': 17, 'ai.onnx.ml': 3},
    )
    onnx.checker.check_model(onx)
    # No producer version, and opset imports in a fixed order (skl2onnx's order follows set iteration): the file
    # then changes only when the model does.
    onx.producer_version = ''
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onnx_bytes = onx.SerializeToString()

    check_x = model_matrix(check_table)
    proba = model.predict_proba(check_x)
    predicted = model.predict(check_x)

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'model.onnx'), 'wb') as f:
        f.write(onnx_bytes)
    mapping = {
        'name': 'fraud-sklearn',
        'input': INPUT_NAME,
        'columns': MODEL_COLUMNS,
        'probability_output': PROBABILITY_OUTPUT,
        'positive_class_index': int(list(model.classes_).index(1)),
        'threshold': 0.5,
    }
    with open(os.path.join(OUT_DIR, 'mapping.json'), 'w') as f:
        json.dump(mapping, f, indent=2)
        f.write('\n')
    expected = {
        'generator': 'scripts/python/external_model/make_fixture.py',
        'sklearn_version': sklearn.__version__,
        'skl2onnx_version': skl2onnx.__version__,
        'onnx_sha256': hashlib.sha256(onnx_bytes).hexdigest(),
        'model': 'Pipeline(SimpleImputer(median), StandardScaler, LogisticRegression(C=1))',
        'classes': [int(c) for c in model.classes_],
        'feature_names': PIPELINE_FEATURES,
        'rows': [{name: as_json_number(v) for name, v in zip(PIPELINE_FEATURES, row)} for row in check_table],
        'predict_proba': [[float(p) for p in pair] for pair in proba],
        'predict': [int(c) for c in predicted],
    }
    with open(os.path.join(OUT_DIR, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT_DIR}: model.onnx ({len(onnx_bytes)} bytes), mapping.json, expected.json '
          f'({N_CHECK} rows, {int(predicted.sum())} predicted fraud, {int(np.isnan(check_x).any(axis=1).sum())} with missing values)')


if __name__ == '__main__':
    main()
