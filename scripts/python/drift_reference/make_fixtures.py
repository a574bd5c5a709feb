#!/usr/bin/env python3
"""Reference fixtures for libs/drift statistics and change detectors, computed with scipy and River.

    bash scripts/python/run.sh scripts/python/drift_reference/make_fixtures.py

Writes (deterministic, seeds fixed; the unit tests read them, they do not run Python):
  libs/drift/src/fixtures/stats_scipy.json      sample pairs with scipy's ks_2samp (method='auto' and 'asymp'),
                                                 wasserstein_distance, jensenshannon(base=2) over psi's bins,
                                                 chi2_contingency(correction=False), false_discovery_control,
                                                 plus kstwo.sf / smirnov / chi2.sf spot values
  libs/drift/src/fixtures/detectors_river.json  streams and River's detection indices for ADWIN, PageHinkley, DDM

Large samples (asymptotic KS) are not stored: both sides regenerate them with `irwin_hall` below, which only
uses exact integer arithmetic (mulberry32) and dyadic scaling, so Python and JavaScript get identical doubles.
Small samples are rounded to 6 decimals and stored.
"""
import json
import os

import numpy as np
import river
import scipy
from river import drift
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
FIX = 'libs/drift/src/fixtures'


def write(rel, doc):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {rel} ({os.path.getsize(path)} bytes)')


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF
    return nxt


def irwin_hall(n, seed, shift, scale):
    """Approximately normal: (u1 + u2 + u3 + u4 - 2) * scale + shift with u = k / 2^32 (exact in doubles)."""
    g = mulberry32(seed)
    out = []
    for _ in range(n):
        s = g() + g() + g() + g()  # < 2^34, exact
        out.append((s / 4294967296.0 - 2.0) * scale + shift)
    return out


def psi_edges(ref, bins):
    finite = np.sort(np.asarray([v for v in ref if np.isfinite(v)], dtype=float))
    edges = []
    for k in range(1, bins):
        e = float(np.quantile(finite, k / bins))
        if not edges or e > edges[-1]:
            edges.append(e)
    return edges


def js_binned(ref, cur, bins):
    edges = psi_edges(ref, bins)
    r = np.bincount(np.searchsorted(edges, ref, side='left'), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cur, side='left'), minlength=len(edges) + 1)
    return float(jensenshannon(r, c, base=2))


def numeric_case(name, ref, cur, bins=10, stored=True, gen=None):
    ks = stats.ks_2samp(ref, cur)
    ks_asymp = stats.ks_2samp(ref, cur, method='asymp')
    case = {
        'name': name,
        'bins': bins,
        'ks_statistic': float(ks.statistic), 'ks_pvalue': float(ks.pvalue),
        'ks_asymp_statistic': float(ks_asymp.statistic), 'ks_asymp_pvalue': float(ks_asymp.pvalue),
        'wasserstein': float(stats.wasserstein_distance(ref, cur)),
        'jensenshannon': js_binned(ref, cur, bins),
    }
    if stored:
        case['reference'] = [float(v) for v in ref]
        case['current'] = [float(v) for v in cur]
    else:
        case['generator'] = gen
    return case


def main():
    rng = np.random.default_rng(20261122)
    r6 = lambda a: np.round(a, 6)
    numeric = [
        numeric_case('small equal sizes, shifted', r6(rng.normal(0, 1, 20)), r6(rng.normal(0.8, 1, 20))),
        numeric_case('small unequal sizes, same distribution', r6(rng.normal(0, 1, 30)), r6(rng.normal(0, 1, 45)), bins=5),
        numeric_case('tiny 8 vs 12, shifted', r6(rng.normal(0, 1, 8)), r6(rng.normal(1.5, 1, 12)), bins=4),
        numeric_case('ties (rounded to 1 decimal)', np.round(rng.normal(0, 1, 60), 1), np.round(rng.normal(0.2, 1, 90), 1)),
        numeric_case('medium 500 vs 800, shifted', r6(rng.normal(0, 1, 500)), r6(rng.normal(0.15, 1.1, 800))),
        numeric_case('medium 1000 vs 1000, same', r6(rng.normal(0, 1, 1000)), r6(rng.normal(0, 1, 1000))),
    ]
    # Large samples, regenerated on both sides: exact KS at the 'auto' limit, asymptotic KS above it.
    for name, gr, gc in [
        ('exact at the auto limit 10000 vs 9999', (10000, 21, 0.0, 1.0), (9999, 22, 0.02, 1.0)),
        ('just above the limit 10001 vs 500 (asymp)', (10001, 23, 0.0, 1.0), (500, 24, 0.05, 1.2)),
        ('large 12000 vs 11000, small shift', (12000, 11, 0.0, 1.0), (11000, 12, 0.03, 1.0)),
        ('large 12000 vs 11000, same', (12000, 13, 0.0, 1.0), (11000, 14, 0.0, 1.0)),
        ('large 12000 vs 11000, big shift', (12000, 15, 0.0, 1.0), (11000, 16, 0.1, 1.0)),
        ('unbalanced 10500 vs 60 (kstwo n=60)', (10500, 17, 0.0, 1.0), (60, 18, 0.2, 1.0)),
        ('unbalanced 10200 vs 150', (10200, 19, 0.0, 1.0), (150, 20, 0.1, 1.0)),
    ]:
        ref = irwin_hall(*gr)
        cur = irwin_hall(*gc)
        numeric.append(numeric_case(name, ref, cur, stored=False, gen={'reference': list(gr), 'current': list(gc)}))

    # Kolmogorov distribution spot values across scipy's method regions.
    kstwo = []
    for n, x in [(5, 0.15), (5, 0.3), (10, 0.05), (10, 0.25), (20, 0.12), (20, 0.3), (40, 0.2), (60, 0.1), (60, 0.25),
                 (100, 0.05), (100, 0.1), (100, 0.2), (140, 0.05), (140, 0.3), (141, 0.05), (500, 0.02), (500, 0.05),
                 (500, 0.1), (1000, 0.01), (5000, 0.005), (5000, 0.015), (5000, 0.03), (6000, 0.02), (10, 0.6),
                 (30, 0.01), (200, 0.004), (3000, 0.0005)]:
        kstwo.append({'n': n, 'x': x, 'sf': float(stats.kstwo.sf(x, n)), 'cdf': float(stats.kstwo.cdf(x, n))})
    smirnov = [{'n': n, 'x': x, 'sf': float(special.smirnov(n, x))}
               for n, x in [(1, 0.3), (5, 0.2), (20, 0.1), (100, 0.05), (1000, 0.03), (5000, 0.02), (10000, 0.01)]]
    chi2 = [{'x': x, 'dof': d, 'sf': float(stats.chi2.sf(x, d))}
            for x, d in [(0.5, 1), (3.84, 1), (10, 3), (50, 10), (200, 50), (30, 60), (1000, 900), (5, 2), (120, 4)]]

    def cat(name, ref, cur):
        keys = list(ref.keys()) + [k for k in cur if k not in ref]
        keys = [k for k in keys if ref.get(k, 0) + cur.get(k, 0) > 0]
        table = np.array([[ref.get(k, 0) for k in keys], [cur.get(k, 0) for k in keys]])
        res = stats.chi2_contingency(table, correction=False)
        return {'name': name, 'reference': ref, 'current': cur, 'statistic': float(res.statistic),
                'pvalue': float(res.pvalue), 'dof': int(res.dof)}
    categorical = [
        cat('same mix', {'a': 500, 'b': 300, 'c': 200}, {'a': 240, 'b': 160, 'c': 100}),
        cat('shifted mix', {'a': 500, 'b': 300, 'c': 200}, {'a': 150, 'b': 150, 'c': 200}),
        cat('unseen category in current', {'red': 400, 'green': 350, 'blue': 250}, {'red': 120, 'green': 90, 'blue': 70, 'purple': 20}),
        cat('category gone in current', {'x': 100, 'y': 50, 'z': 10}, {'x': 60, 'y': 40, 'z': 0}),
        cat('many categories', {f'k{i}': int(c) for i, c in enumerate(rng.integers(1, 200, 40))},
            {f'k{i}': int(c) for i, c in enumerate(rng.integers(1, 200, 40))}),
    ]
    bh = []
    for ps in [[0.01, 0.04, 0.03, 0.005, 0.2, 0.5], [0.001, 0.001, 0.2, 0.2, 0.9], rng.uniform(0, 0.1, 25).tolist()]:
        bh.append({'p': ps, 'adjusted': stats.false_discovery_control(ps, method='bh').tolist()})

    write(f'{FIX}/stats_scipy.json', {
        'scipy': scipy.__version__, 'numpy': np.__version__,
        'numeric': numeric, 'kstwo': kstwo, 'smirnov': smirnov, 'chi2': chi2, 'categorical': categorical, 'bh': bh,
    })

    # Detector streams.
    rng = np.random.default_rng(7)
    n = 6000
    sudden = (rng.random(n) < np.where(np.arange(n) < 3000, 0.1, 0.4)).astype(int)
    ramp = np.clip((np.arange(n) - 2000) / 2000, 0, 1)  # error rate 0.1 -> 0.35 over events 2000..4000
    gradual = (rng.random(n) < 0.1 + 0.25 * ramp).astype(int)
    control = (rng.random(n) < 0.2).astype(int)
    gauss = np.round(np.concatenate([rng.normal(0, 1, 3000), rng.normal(1.5, 1, 3000)]), 6)
    gauss_down = np.round(np.concatenate([rng.normal(5, 1, 2500), rng.normal(3, 1, 2500)]), 6)
    streams = {'bernoulli_sudden': sudden, 'bernoulli_gradual': gradual, 'bernoulli_control': control,
               'gaussian_up': gauss, 'gaussian_down': gauss_down}

    def run(det, xs, warnings=False):
        drifts, warns = [], []
        for i, x in enumerate(xs):
            det.update(x.item())
            if det.drift_detected:
                drifts.append(i)
            if warnings and det.warning_detected:
                warns.append(i)
        return (drifts, warns) if warnings else drifts

    runs = []
    configs = [
        ('ADWIN', {}, lambda: drift.ADWIN()),
        ('ADWIN', {'delta': 0.05, 'clock': 1}, lambda: drift.ADWIN(delta=0.05, clock=1)),
        ('ADWIN', {'maxBuckets': 3, 'minWindowLength': 10, 'gracePeriod': 50}, lambda: drift.ADWIN(max_buckets=3, min_window_length=10, grace_period=50)),
        ('PageHinkley', {}, lambda: drift.PageHinkley()),
        ('PageHinkley', {'threshold': 20, 'mode': 'up'}, lambda: drift.PageHinkley(threshold=20, mode='up')),
        ('PageHinkley', {'threshold': 20, 'delta': 0.05, 'mode': 'down', 'alpha': 0.999}, lambda: drift.PageHinkley(threshold=20, delta=0.05, mode='down', alpha=0.999)),
    ]
    for sname, xs in streams.items():
        for det_name, params, make in configs:
            runs.append({'stream': sname, 'detector': det_name, 'params': params, 'drifts': run(make(), xs)})
        if sname.startswith('bernoulli'):
            for params, make in [({}, lambda: drift.binary.DDM()),
                                 ({'warmStart': 100, 'warningThreshold': 1.5, 'driftThreshold': 2.5},
                                  lambda: drift.binary.DDM(warm_start=100, warning_threshold=1.5, drift_threshold=2.5))]:
                d, w = run(make(), xs, warnings=True)
                runs.append({'stream': sname, 'detector': 'DDM', 'params': params, 'drifts': d, 'warnings': w})

    enc = {k: (''.join(map(str, v.tolist())) if k.startswith('bernoulli') else v.tolist()) for k, v in streams.items()}
    write(f'{FIX}/detectors_river.json', {'river': river.__version__, 'streams': enc, 'runs': runs})


if __name__ == '__main__':
    main()
