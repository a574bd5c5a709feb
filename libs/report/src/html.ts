// The report as ONE self-contained HTML file: Chart.js's UMD build inlined in a <script>, the report's data and the
// charts' configurations embedded as JSON, inline CSS, every text escaped, nothing fetched from the network.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ReportBin, ReportData, ReportDataQualityRun, ReportFeature, ReportPerformanceWindow } from './report-data';

/** Text and attribute values: &, <, >, " and ' escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * JSON safe inside a <script> element: `<`, `>` and `&` as \u escapes (so no `</script` or `<!--` can end or bend
 * the element), and the line separators JavaScript once refused in strings.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

let chartJsSource: string | undefined;

/**
 * Chart.js's UMD build from the installed package (its exports map hides dist/, so it is found next to the package's
 * main file), without the source-map comment (a browser's tools would try to fetch the map).
 */
export function chartJsUmd(): string {
  if (chartJsSource === undefined) {
    const require = createRequire(import.meta.url);
    const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    const source = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
    // Inlined as is: a closing tag inside would end the element early.
    if (/<\/script/i.test(source) || source.includes('<!--')) throw new Error(`${file}: contains </script or <!--, cannot be inlined`);
    chartJsSource = source;
  }
  return chartJsSource;
}

/** One chart: the canvas id and the Chart.js configuration (JSON only: callbacks are set by the page's script). */
export interface ChartSpec {
  id: string;
  /** The x axis holds epoch ms: its ticks and tooltips show UTC times. */
  timeAxis?: boolean;
  config: { type: string; data: { labels?: string[]; datasets: Array<Record<string, unknown>> }; options?: Record<string, unknown> };
}

const REFERENCE_COLOUR = '#4c78a8';
const CURRENT_COLOUR = '#f58518';
const SERIES_COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d'];

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2329;max-width:1100px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:30px 0 8px;border-bottom:1px solid #d8dee4;padding-bottom:4px}h3{font-size:15px;margin:18px 0 4px}
.sub{color:#57606a}table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #d8dee4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}table.wide{font-size:12.5px}code{font:12px ui-monospace,Menlo,monospace;background:#f3f5f7;padding:0 3px;border-radius:3px}
.bad{color:#b42318;font-weight:600}.ok{color:#1a7f37;font-weight:600}.warn{color:#9a6700}
.verdict{padding:8px 12px;border-radius:4px;border:1px solid #d8dee4;margin:6px 0}.verdict.bad{background:#fff1f0;border-color:#f5b5ae}.verdict.ok{background:#effaf1;border-color:#a6dcb3}
.chart{position:relative;height:240px;margin:6px 0 14px}.chart.small{height:200px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:8px 24px}
.card{border:1px solid #d8dee4;border-radius:4px;padding:6px 10px}.notes li{margin:2px 0}
`;

/** A figure as text: – for none, up to 4 significant digits. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** Epoch ms as UTC text, to the second. */
export function time(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–';
}

function table(header: string[], rows: string[][], numeric: boolean[] = [], cls = ''): string {
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}>\n${head}\n${body}\n</table>`;
}

/** Name–value rows, the names as row headers (already escaped HTML in the values). */
function keyValues(rows: Array<[string, string]>): string {
  return `<table>\n${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('\n')}\n</table>`;
}

const e = (s: string | number) => escapeHtml(String(s));
const yesNo = (drifted: boolean) => (drifted ? '<span class="bad">drifted</span>' : '<span class="ok">no drift</span>');
const canvas = (id: string, label: string, small = false) => `<div class="chart${small ? ' small' : ''}"><canvas id="${id}" role="img" aria-label="${e(label)}"></canvas></div>`;

/** Reference and current shares of each bin drawn over each other (grouped bars). */
function distributionChart(id: string, bins: ReportBin[], names: [string, string]): ChartSpec {
  return {
    id,
    config: {
      type: 'bar',
      data: {
        labels: bins.map((b) => b.label),
        datasets: [
          { label: names[0], data: bins.map((b) => b.reference), backgroundColor: `${REFERENCE_COLOUR}b3`, borderColor: REFERENCE_COLOUR, borderWidth: 1 },
          { label: names[1], data: bins.map((b) => b.current), backgroundColor: `${CURRENT_COLOUR}99`, borderColor: CURRENT_COLOUR, borderWidth: 1 },
        ],
      },
      options: { responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: 'share' } } } },
    },
  };
}

const modelKey = (w: Pick<ReportPerformanceWindow, 'model_name' | 'model_version' | 'role'>) => `${w.model_name} v${w.model_version} (${w.role})`;

function performanceCharts(data: ReportData): ChartSpec[] {
  const windows = data.performance.windows;
  if (windows.length === 0) return [];
  const starts = [...new Set(windows.map((w) => w.window_start))].sort((a, b) => a - b);
  const labels = starts.map((s) => time(s).slice(0, 16) + 'Z');
  const models = [...new Set(windows.map(modelKey))];
  const at = (model: string, start: number) => windows.find((w) => modelKey(w) === model && w.window_start === start);
  const series = (metric: 'roc_auc' | 'f1', dashed: boolean) => models.map((m, i) => ({
    label: `${metric === 'roc_auc' ? 'ROC AUC' : 'F1'} ${m}`, data: starts.map((s) => at(m, s)?.[metric] ?? null), spanGaps: true,
    borderColor: SERIES_COLOURS[i % SERIES_COLOURS.length], backgroundColor: SERIES_COLOURS[i % SERIES_COLOURS.length], borderDash: dashed ? [5, 4] : [],
  }));
  const out: ChartSpec[] = [];
  const metrics = [...series('roc_auc', false), ...series('f1', true)];
  if (metrics.some((d) => (d.data as Array<number | null>).some((v) => v !== null))) {
    out.push({
      id: 'chart-performance',
      config: { type: 'line', data: { labels, datasets: metrics }, options: { responsive: true, maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } } } },
    });
  }
  out.push({
    id: 'chart-labelled',
    config: {
      type: 'bar',
      data: { labels, datasets: models.map((m, i) => ({ label: `labelled ${m}`, data: starts.map((s) => at(m, s)?.labelled ?? 0), backgroundColor: SERIES_COLOURS[i % SERIES_COLOURS.length] })) },
      options: { responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: 'labelled predictions' } } } },
    },
  });
  return out;
}

function detectionChart(data: ReportData): ChartSpec | undefined {
  if (data.detections.length === 0) return undefined;
  const detectors = [...new Set(data.detections.map((d) => `${d.detector} · ${d.model_name} v${d.model_version} (${d.role})`))];
  return {
    id: 'chart-detections',
    timeAxis: true,
    config: {
      type: 'scatter',
      data: {
        datasets: detectors.map((name, i) => ({
          label: name, pointRadius: 5, backgroundColor: SERIES_COLOURS[(i + 3) % SERIES_COLOURS.length],
          data: data.detections.filter((d) => `${d.detector} · ${d.model_name} v${d.model_version} (${d.role})` === name).map((d) => ({ x: d.event_time, y: d.recent_error_rate ?? 0 })),
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'event time of the prediction (UTC)' } }, y: { beginAtZero: true, title: { display: true, text: 'recent error rate' } } },
      },
    },
  };
}

/** Every chart of the report, in page order; a section without data has no chart (and says so in words). */
export function reportCharts(data: ReportData): ChartSpec[] {
  const charts: ChartSpec[] = [];
  data.features.forEach((f, i) => {
    if (f.bins.length > 0) charts.push(distributionChart(`chart-feature-${i}`, f.bins, ['reference', 'current']));
  });
  if (data.score && data.score.bins.length > 0) charts.push(distributionChart('chart-score', data.score.bins, ['previous period', 'current period']));
  if (data.label && data.label.bins.length > 0) charts.push(distributionChart('chart-label', data.label.bins, ['previous period', 'current period']));
  charts.push(...performanceCharts(data));
  const detections = detectionChart(data);
  if (detections) charts.push(detections);
  return charts;
}

/** The report's sections, in page order (their <h2> text). */
export const REPORT_SECTIONS = [
  'Serving model and reference', 'Dataset drift', 'Feature drift', 'Score drift', 'Label drift', 'Performance over time',
  'Change detectors on the error stream', 'Data quality', 'Notes',
] as const;

function featureRow(f: ReportFeature): string[] {
  return [
    `<code>${e(f.feature)}</code>`, e(f.kind), `<code>${e(f.statistic)}</code>`, fmt(f.value), fmt(f.threshold), yesNo(f.drifted),
    fmt(f.psi), fmt(f.ks_p_value), fmt(f.jensen_shannon), fmt(f.wasserstein_normed), fmt(f.chi_square_p_value), `${f.reference_count} / ${f.current_count}`,
  ];
}

function dataQualityHtml(title: string, run: ReportDataQualityRun | null): string {
  if (!run) return `<h3>${e(title)}</h3><p class="sub">No run recorded.</p>`;
  const failed = run.checks.filter((c) => !c.passed && c.blocking).length;
  const warnings = run.checks.filter((c) => !c.passed && !c.blocking).length;
  const head = `<h3>${e(title)}</h3><p>${run.passed ? '<span class="ok">passed</span>' : '<span class="bad">failed</span>'}: ${run.checks.length} checks, ${failed} failed, ${warnings} warnings; window ${e(time(run.window_start))} to ${e(time(run.window_end))}, run <code>${e(run.run_id)}</code> at ${e(time(run.computed_at))}</p>`;
  const rows = (checks: ReportDataQualityRun['checks']) => checks.map((c) => [
    `<code>${e(c.check)}</code>`, c.feature ? `<code>${e(c.feature)}</code>` : '', fmt(c.value), fmt(c.limit),
    c.passed ? '<span class="ok">passed</span>' : c.blocking ? '<span class="bad">failed</span>' : '<span class="warn">warning</span>', c.blocking ? 'yes' : 'no',
  ]);
  const header = ['check', 'feature', 'value', 'limit', 'result', 'blocking'];
  const numeric = [false, false, true, true, false, false];
  const notPassed = run.checks.filter((c) => !c.passed);
  const passed = run.checks.filter((c) => c.passed);
  // Failures and warnings in view; the passed checks (one per feature and check: many) folded away.
  return head + (notPassed.length > 0 ? table(header, rows(notPassed), numeric) : '')
    + (passed.length > 0 ? `<details><summary>${passed.length} passed checks</summary>${table(header, rows(passed), numeric)}</details>` : '');
}

/** The page's script: draws every chart from its embedded configuration, without animation (so a print or screenshot is whole). */
const DRAW_CHARTS = `
(function () {
  var specs = JSON.parse(document.getElementById('streamloop-report-charts').textContent);
  var utc = function (v) { return new Date(v).toISOString().slice(0, 16).replace('T', ' ') + 'Z'; };
  specs.forEach(function (spec) {
    var el = document.getElementById(spec.id);
    if (!el) return;
    var config = spec.config;
    config.options = config.options || {};
    config.options.animation = false;
    if (spec.timeAxis) {
      config.options.scales.x.ticks = { callback: function (v) { return utc(v); }, maxRotation: 0, autoSkip: true };
      config.options.plugins = { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + utc(c.parsed.x) + ', error rate ' + c.parsed.y.toFixed(3); } } } };
    }
    new Chart(el, config);
  });
})();
`;

/** The report as one self-contained HTML page. */
export function renderReportHtml(data: ReportData): string {
  const charts = reportCharts(data);
  const has = new Set(charts.map((c) => c.id));
  const title = `Drift and performance report: ${data.pipeline}`;
  const parts: string[] = [];
  parts.push(`<h1>${e(title)}</h1>`);
  parts.push(`<p class="sub">Period ${e(time(data.period.from))} to ${e(time(data.period.to))} (event time${data.period.default_period ? `; the latest monitoring window, ${e(data.monitoring.window)}` : ''}); previous period from ${e(time(data.period.previous_from))}. Generated ${e(time(data.generated_at))}.</p>`);

  // Serving model and reference.
  parts.push(`<h2>${REPORT_SECTIONS[0]}</h2>`);
  if (data.model) {
    const m = data.model;
    parts.push(keyValues([
      ['model', `<code>${e(m.model_name)}</code> v${e(m.model_version)} (${e(m.stage)}, ${e(m.algorithm)})`],
      ['trained', `${e(time(m.created_at))} on ${e(m.training_rows)} rows, events ${e(time(m.data_window_start))} to ${e(time(m.data_window_end))}`],
      ['features', `${m.feature_names.length} (feature spec ${e(m.feature_spec_version)}), threshold ${fmt(m.threshold)}`],
      ['held-out metrics', Object.entries(m.metrics).map(([k, v]) => `${e(k)} ${fmt(v)}`).join(', ') || '–'],
      ['reference', `${e(data.reference.description)} (<code>monitoring.reference: ${e(data.reference.source)}</code>)`],
    ]));
  } else {
    parts.push('<p>No champion model serves this pipeline yet.</p>');
  }

  // Dataset drift.
  parts.push(`<h2>${REPORT_SECTIONS[1]}</h2>`);
  if (data.dataset) {
    const d = data.dataset;
    parts.push(`<div class="verdict ${d.drift ? 'bad' : 'ok'}">${d.drift ? 'Dataset drift detected' : 'No dataset drift'}: ${d.drifted.length} of ${d.judged} features drifted (share ${fmt(d.share)}; drift at ≥ ${fmt(d.share_threshold)}), by their KS or chi-square p-values corrected by Benjamini–Hochberg at α = ${fmt(d.alpha)}${d.drifted.length ? `: ${d.drifted.map((f) => `<code>${e(f)}</code>`).join(', ')}` : ''}.</div>`);
  } else {
    parts.push('<p class="sub">No verdict: no feature has a p-value for this period.</p>');
  }

  // Feature drift: the summary, then each feature's distributions.
  parts.push(`<h2>${REPORT_SECTIONS[2]}</h2>`);
  if (data.features.length > 0) {
    const drifted = data.features.filter((f) => f.drifted).length;
    parts.push(`<p>${drifted} of ${data.features.length} features drifted by their own statistic and threshold (PSI over ${data.monitoring.psi_bins} reference-quantile bins, missing values in a bin of their own).</p>`);
    parts.push(table(['feature', 'kind', 'judged by', 'value', 'threshold', 'verdict', 'PSI', 'KS p', 'Jensen–Shannon', 'Wasserstein (normed)', 'chi² p', 'values ref / cur'],
      data.features.map(featureRow), [false, false, false, true, true, false, true, true, true, true, true, true], 'wide'));
    parts.push('<div class="grid">');
    data.features.forEach((f, i) => {
      const id = `chart-feature-${i}`;
      parts.push(`<div class="card"><h3><code>${e(f.feature)}</code> ${yesNo(f.drifted)}</h3>`
        + `<p class="sub">${e(f.statistic)} = ${fmt(f.value)} (threshold ${fmt(f.threshold)}); PSI ${fmt(f.psi)}; missing ${e(f.reference_missing)} / ${e(f.current_missing)}</p>`
        + (has.has(id) ? canvas(id, `${f.feature}: reference and current distributions`, true) : '<p class="sub">No bins.</p>') + '</div>');
    });
    parts.push('</div>');
  } else {
    parts.push('<p class="sub">No feature compared in this period.</p>');
  }

  // Score drift.
  parts.push(`<h2>${REPORT_SECTIONS[3]}</h2>`);
  if (data.score) {
    const s = data.score;
    parts.push(`<p>${yesNo(s.drifted)}: the champion's scores in this period (${s.current_count}) against the previous period (${s.reference_count}): PSI ${fmt(s.psi)} (threshold ${fmt(s.psi_threshold)}), KS ${fmt(s.ks_statistic)} (p ${fmt(s.ks_p_value)}), Jensen–Shannon ${fmt(s.jensen_shannon)}, Wasserstein ${fmt(s.wasserstein)}.</p>`);
    if (has.has('chart-score')) parts.push(canvas('chart-score', 'score distribution, previous and current period'));
  } else {
    parts.push('<p class="sub">No score drift: the champion has no predictions in this period or the previous one.</p>');
  }

  // Label drift.
  parts.push(`<h2>${REPORT_SECTIONS[4]}</h2>`);
  if (data.label) {
    const l = data.label;
    parts.push(`<p>${yesNo(l.drifted)}: true labels of the champion's predictions, ${l.current_count} in this period against ${l.reference_count} before: chi² ${fmt(l.chi_square)} (p ${fmt(l.p_value)}), PSI ${fmt(l.psi)} (threshold ${fmt(l.psi_threshold)}).</p>`);
    if (has.has('chart-label')) parts.push(canvas('chart-label', 'label distribution, previous and current period', true));
  } else {
    parts.push('<p class="sub">No label drift: no labelled predictions of the champion in this period or the previous one.</p>');
  }

  // Performance over time.
  parts.push(`<h2>${REPORT_SECTIONS[5]}</h2>`);
  const windows = data.performance.windows;
  if (windows.length > 0) {
    parts.push(`<p>Each model on its own predictions with the labels known now (they arrive late: recent windows have fewer), in windows of ${e(fmtDuration(data.performance.window_ms))}.</p>`);
    if (has.has('chart-performance')) parts.push(canvas('chart-performance', 'ROC AUC and F1 per window and model'));
    parts.push(canvas('chart-labelled', 'labelled predictions per window and model', true));
    parts.push(table(['window start', 'model', 'predictions', 'labelled', 'positives', 'ROC AUC', 'precision', 'recall', 'F1', 'log loss'],
      windows.map((w) => [e(time(w.window_start)), e(modelKey(w)), fmt(w.predictions), fmt(w.labelled), fmt(w.positives), fmt(w.roc_auc), fmt(w.precision), fmt(w.recall), fmt(w.f1), fmt(w.log_loss)]),
      [false, false, true, true, true, true, true, true, true, true], 'wide'));
  } else {
    parts.push('<p class="sub">No predictions in this period.</p>');
  }

  // Change detectors.
  parts.push(`<h2>${REPORT_SECTIONS[6]}</h2>`);
  if (data.detections.length > 0) {
    parts.push(`<p>${data.detections.length} detections by ADWIN, Page-Hinkley or DDM on the models' error streams (1 = wrong, 0 = right), at the event time of the prediction that raised each.</p>`);
    parts.push(canvas('chart-detections', 'change-detector detections over time'));
    parts.push(table(['event time', 'detector', 'model', 'recent error rate'],
      data.detections.map((d) => [e(time(d.event_time)), `<code>${e(d.detector)}</code>`, e(`${d.model_name} v${d.model_version} (${d.role})`), fmt(d.recent_error_rate)]), [false, false, false, true]));
  } else {
    parts.push('<p class="sub">No detection in this period.</p>');
  }

  // Data quality.
  parts.push(`<h2>${REPORT_SECTIONS[7]}</h2>`);
  parts.push(dataQualityHtml('The latest monitoring window in the period', data.data_quality.monitoring));
  parts.push(dataQualityHtml('The latest training gate', data.data_quality.training));

  parts.push(`<h2>${REPORT_SECTIONS[8]}</h2>`);
  parts.push(data.notes.length > 0 ? `<ul class="notes">${data.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>` : '<p class="sub">None.</p>');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body>
${parts.join('\n')}
<script type="application/json" id="streamloop-report-data">${scriptJson(data)}</script>
<script type="application/json" id="streamloop-report-charts">${scriptJson(charts)}</script>
<script>${chartJsUmd()}</script>
<script>${DRAW_CHARTS}</script>
</body>
</html>
`;
}

/** The Content-Security-Policy the endpoint sends with the page: its own inline scripts and styles, nothing fetched. */
export const REPORT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

function fmtDuration(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [size, name] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  for (const [size, name] of units) if (ms >= size) return `${fmt(ms / size)} ${name}`;
  return `${ms} ms`;
}
