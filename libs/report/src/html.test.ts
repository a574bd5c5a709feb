// The page for a sample report: every section, every chart with data, text escaped, the embedded JSON intact and
// unable to end its element, Chart.js inlined, nothing fetched from the network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chartJsUmd, renderReportHtml, reportCharts, REPORT_FORMAT, REPORT_SECTIONS, scriptJson, type ReportData } from './index';

const HOSTILE = '</script><script>alert(1)</script><!--';
const bins = [{ label: '≤ 1', reference: 0.5, current: 0.2 }, { label: '> 1', reference: 0.5, current: 0.7 }, { label: 'missing', reference: 0, current: 0.1 }];

export function sampleReport(): ReportData {
  const t = Date.UTC(2026, 10, 3);
  return {
    format: REPORT_FORMAT, pipeline: 'fraud', generated_at: t + 7_200_000,
    period: { from: t, to: t + 3_600_000, previous_from: t - 3_600_000, default_period: true },
    monitoring: { window: '1h', window_ms: 3_600_000, psi_bins: 10, psi_threshold: 0.2, dataset_drift: { alpha: 0.05, share: 0.5 } },
    model: {
      model_name: 'fraud-lr', model_version: 3, algorithm: 'logistic_regression', stage: 'champion', created_at: t - 86_400_000, feature_spec_version: 'v1',
      threshold: 0.5, training_rows: 1200, data_window_start: t - 2 * 86_400_000, data_window_end: t - 86_400_000, feature_names: ['amount', HOSTILE],
      metrics: { roc_auc: 0.91 },
    },
    reference: { source: 'training', from: null, to: null, description: 'the training sample stored with fraud-lr v3' },
    features: [
      { feature: 'amount', kind: 'numeric', statistic: 'ks_p_value', value: 0.001, threshold: 0.05, drifted: true, psi: 0.31, ks_statistic: 0.2, ks_p_value: 0.001,
        jensen_shannon: 0.12, wasserstein: 3.2, wasserstein_normed: 0.4, chi_square: null, chi_square_p_value: null,
        reference_count: 500, current_count: 300, reference_missing: 0, current_missing: 30, bins },
      { feature: HOSTILE, kind: 'categorical', statistic: 'chi_square_p_value', value: 0.6, threshold: 0.05, drifted: false, psi: 0.01, ks_statistic: null, ks_p_value: null,
        jensen_shannon: 0.02, wasserstein: null, wasserstein_normed: null, chi_square: 1.1, chi_square_p_value: 0.6,
        reference_count: 500, current_count: 300, reference_missing: 0, current_missing: 0, bins: [{ label: HOSTILE, reference: 1, current: 1 }] },
    ],
    dataset: { drift: false, share: 0.5, share_threshold: 0.6, alpha: 0.05, judged: 2, drifted: ['amount'] },
    score: { psi: 0.05, ks_statistic: 0.1, ks_p_value: 0.2, jensen_shannon: 0.03, wasserstein: 0.01, psi_threshold: 0.2, drifted: false, reference_count: 280, current_count: 300, bins },
    label: { chi_square: 4, p_value: 0.04, psi: 0.02, psi_threshold: 0.2, drifted: false, reference_count: 250, current_count: 260, bins: [{ label: '0', reference: 0.9, current: 0.8 }, { label: '1', reference: 0.1, current: 0.2 }] },
    performance: {
      window_ms: 300_000,
      windows: [0, 1, 2].map((i) => ({
        window_start: t + i * 300_000, window_end: t + (i + 1) * 300_000, model_name: 'fraud-lr', model_version: 3, role: 'champion' as const,
        predictions: 100, labelled: 90 - i * 30, positives: 9, roc_auc: i === 2 ? null : 0.9 - i / 10, precision: 0.5, recall: 0.6, f1: 0.55, log_loss: 0.3,
      })),
    },
    detections: [{ event_time: t + 400_000, detector: 'adwin', recent_error_rate: 0.3, model_name: 'fraud-lr', model_version: 3, role: 'champion' }],
    data_quality: {
      monitoring: { run_id: 'r1', scope: 'monitoring', window_start: t, window_end: t + 3_600_000, computed_at: t + 3_700_000, passed: false,
        checks: [{ check: 'max_missing_rate', feature: 'amount', value: 0.1, limit: 0.05, passed: false, blocking: true }, { check: 'min_rows', feature: '', value: 300, limit: 100, passed: true, blocking: true }] },
      training: null,
    },
    notes: [`a note with ${HOSTILE}`],
  };
}

/** The text of the <script type="application/json" id=…> element. */
function embedded(html: string, id: string): string {
  const m = html.match(new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`));
  assert.ok(m, `no embedded ${id}`);
  return m[1];
}

test('the page has every section, a canvas per chart with data, and the report data embedded intact', () => {
  const data = sampleReport();
  const html = renderReportHtml(data);
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  for (const section of REPORT_SECTIONS) assert.ok(html.includes(`<h2>${section}</h2>`), `section ${section}`);
  assert.deepEqual(JSON.parse(embedded(html, 'streamloop-report-data')), data, 'the data survives the trip through the page');
  const charts = reportCharts(data);
  assert.deepEqual(charts.map((c) => c.id), ['chart-feature-0', 'chart-feature-1', 'chart-score', 'chart-label', 'chart-performance', 'chart-labelled', 'chart-detections']);
  assert.deepEqual(JSON.parse(embedded(html, 'streamloop-report-charts')), charts);
  const canvases = [...html.matchAll(/<canvas id="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(canvases, charts.map((c) => c.id), 'one canvas per chart, none without one');
  for (const c of charts) assert.ok(c.config.data.datasets.length > 0 && c.config.data.datasets.every((d) => (d.data as unknown[]).length > 0), `${c.id} has data`);
  // The verdicts and figures in words.
  assert.match(html, /No dataset drift<\/div>|No dataset drift:/);
  assert.match(html, /<td class="n">0\.31<\/td>/, 'PSI of amount in the summary table');
  assert.match(html, /<span class="bad">failed<\/span>: 2 checks, 1 failed/);
  assert.match(html, /<details><summary>1 passed checks<\/summary>/, 'passed checks folded away');
});

test('text is escaped and the embedded JSON cannot end its script element', () => {
  const html = renderReportHtml(sampleReport());
  assert.ok(!html.includes(HOSTILE), 'the hostile text never appears raw');
  assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--'), 'it appears escaped in the text');
  // Exactly the four script elements the page has: data, charts, Chart.js, the drawing code.
  assert.equal(html.match(/<script/gi)?.length, 4);
  assert.equal(html.match(/<\/script/gi)?.length, 4);
  assert.equal(html.match(/<!--/g), null);
  assert.equal(scriptJson({ a: '</script><!-- & \u2028' }), '{"a":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028"}');
  assert.deepEqual(JSON.parse(scriptJson({ a: '</script><!-- & \u2028' })), { a: '</script><!-- & \u2028' });
});

test('Chart.js is inlined from the installed package and nothing is fetched from the network', () => {
  const html = renderReportHtml(sampleReport());
  const require = createRequire(import.meta.url);
  const umd = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  assert.match(umd, /Chart\.js v4\./);
  assert.ok(html.includes(chartJsUmd()) && chartJsUmd().length > 100_000, 'the whole UMD build is in the page');
  assert.ok(!html.includes('sourceMappingURL'), 'no source map to fetch');
  assert.equal(html.match(/\s(src|href|action|poster|srcset)\s*=/gi), null, 'no attribute that loads anything');
  const css = html.match(/<style>([\s\S]*?)<\/style>/)?.[1] ?? '';
  assert.ok(css.length > 0 && !/url\(|@import/i.test(css), 'no CSS url() or @import');
  // Chart.js's licence header names its site in a comment; no address outside it.
  const withoutLicence = html.replace(/\/\*![\s\S]*?\*\//g, '');
  assert.equal(withoutLicence.match(/<[^>]+(https?:)?\/\/[^>]*>/gi), null, 'no tag names an address');
});

test('a report without a champion or data still renders every section, with no empty chart', () => {
  const data = sampleReport();
  const empty: ReportData = {
    ...data, model: null, features: [], dataset: null, score: null, label: null, performance: { window_ms: 300_000, windows: [] }, detections: [],
    data_quality: { monitoring: null, training: null }, notes: ['The pipeline has no champion model yet: no feature, score or label drift.'],
  };
  const html = renderReportHtml(empty);
  for (const section of REPORT_SECTIONS) assert.ok(html.includes(`<h2>${section}</h2>`), `section ${section}`);
  assert.deepEqual(reportCharts(empty), []);
  assert.equal(html.match(/<canvas/g), null);
  assert.match(html, /No champion model serves this pipeline yet/);
});
