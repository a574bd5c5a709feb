// The card as one self-contained HTML page: inline CSS, two inline SVG charts (importance bars, the reliability
// diagram), no script, no external resource (its Content-Security-Policy forbids any), every text escaped.
import type { ModelCard } from './card-model';
import {
  confidenceText, fmt, GAP_NAMES, importanceKindText, interval, parentText, pct, searchText, SECTIONS, SEGMENT_COLUMNS, statusOf, time,
} from './format';

/** Text and attribute values: &, <, >, " and ' escaped. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2329;max-width:1040px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dee4;padding-bottom:4px}
.sub{color:#57606a}table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #d8dee4;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}code{font:12px ui-monospace,Menlo,monospace;background:#f3f5f7;padding:0 3px;border-radius:3px}
.warn{color:#9a6700}.note{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:4px}
ul.lim li{margin:2px 0}svg{display:block;margin:8px 0}svg text{font:11px system-ui,sans-serif;fill:#1d2329}
`;

function tableHtml(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const head = `<tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

const code = (s: string) => `<code>${esc(s)}</code>`;

/** Horizontal bars of the importance shares (the top 15 features). */
function importanceSvg(card: ModelCard): string {
  const rows = card.features.filter((f) => Number.isFinite(f.importance)).sort((a, b) => b.importance - a.importance).slice(0, 15);
  if (rows.length === 0) return '';
  const max = Math.max(...rows.map((r) => r.importance), 1e-12);
  const rowH = 18, labelW = 200, barW = 360, h = rows.length * rowH + 4;
  const bars = rows.map((r, i) => {
    const y = i * rowH + 2, w = (r.importance / max) * barW;
    return `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${esc(r.name)}</text>`
      + `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="#4c78a8"/>`
      + `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 12}">${esc(pct(r.importance))}</text>`;
  }).join('');
  return `<svg role="img" aria-label="feature importance" width="${labelW + barW + 60}" height="${h}" viewBox="0 0 ${labelW + barW + 60} ${h}">${bars}</svg>`;
}

/** The reliability diagram: observed positive rate against mean score per bin, the diagonal for perfect calibration. */
function calibrationSvg(card: ModelCard): string {
  const cal = card.calibration;
  if (!cal || cal.bins.length === 0) return '';
  const size = 240, pad = 32;
  const x = (v: number) => (pad + v * size).toFixed(1), y = (v: number) => (pad + (1 - v) * size).toFixed(1);
  const points = cal.bins.filter((b) => Number.isFinite(b.meanPredicted) && Number.isFinite(b.fractionPositive));
  const line = points.map((b) => `${x(b.meanPredicted)},${y(b.fractionPositive)}`).join(' ');
  const dots = points.map((b) => `<circle cx="${x(b.meanPredicted)}" cy="${y(b.fractionPositive)}" r="3" fill="#e45756"><title>${esc(`${fmt(b.count)} rows: mean score ${fmt(b.meanPredicted)}, positive rate ${fmt(b.fractionPositive)}`)}</title></circle>`).join('');
  const total = size + 2 * pad;
  return `<svg role="img" aria-label="reliability diagram" width="${total}" height="${total}" viewBox="0 0 ${total} ${total}">`
    + `<rect x="${pad}" y="${pad}" width="${size}" height="${size}" fill="none" stroke="#d8dee4"/>`
    + `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#9aa4ad" stroke-dasharray="4 3"/>`
    + `<polyline points="${line}" fill="none" stroke="#e45756"/>${dots}`
    + `<text x="${pad + size / 2}" y="${total - 6}" text-anchor="middle">mean score</text>`
    + `<text x="10" y="${pad + size / 2}" transform="rotate(-90 10 ${pad + size / 2})" text-anchor="middle">observed positive rate</text>`
    + `<text x="${pad}" y="${pad + size + 14}" text-anchor="middle">0</text><text x="${pad + size}" y="${pad + size + 14}" text-anchor="middle">1</text>`
    + '</svg>';
}

export function renderHtml(card: ModelCard): string {
  const parts: string[] = [];
  const section = (title: string, body: string) => parts.push(`<section><h2>${esc(title)}</h2>\n${body}\n</section>`);
  const title = `Model card: ${card.modelName} v${card.version}`;

  parts.push(`<h1>${esc(title)}</h1><p class="sub">Pipeline ${code(card.pipeline)}, generated ${esc(time(card.generatedAt))} from the model registry, the experiment log and the registry's audit trail.</p>`);
  for (const note of card.notes) parts.push(`<p class="note">${esc(note)}</p>`);

  section(SECTIONS.overview, tableHtml(['', ''], [
    ['model', code(card.modelName)], ['version', String(card.version)], ['algorithm', code(card.algorithm)],
    ['stage', esc(statusOf(card))], ['trained', esc(time(card.createdAt))],
    ['feature spec version', code(card.training.featureSpecVersion)], ['ONNX SHA-256', code(card.training.onnxSha256)],
  ]));

  section(SECTIONS.intendedUse, `<ul><li>Owner: ${card.owner ? esc(card.owner) : 'not stated (set <code>model.owner</code> in the pipeline spec)'}</li>`
    + `<li>Intended use: ${card.intendedUse ? esc(card.intendedUse) : 'not stated (set <code>model.intended_use</code> in the pipeline spec)'}</li></ul>`);

  const t = card.training;
  section(SECTIONS.data, tableHtml(['', ''], [
    ['data window', esc(`${time(t.windowStart)} to ${time(t.windowEnd)}`)],
    ['training rows', esc(fmt(t.trainingRows))],
    ['held-out rows', esc(`${fmt(t.holdoutRows)} (the newest events, from ${time(t.holdoutStart)}), ${fmt(t.holdoutPositives)} positive`)],
  ]));

  const features = [...card.features].sort((a, b) => (Number.isFinite(b.importance) ? b.importance : -1) - (Number.isFinite(a.importance) ? a.importance : -1));
  section(SECTIONS.features, `<p>Importance: ${esc(importanceKindText(card.importanceKind))}. Missing: share of the reference sample without a value.</p>${importanceSvg(card)}`
    + tableHtml(['feature', 'importance', 'missing', 'mean', 'min', 'median', 'max'], features.map((f) => [
      code(f.name), esc(pct(f.importance)), `<span${f.missingRate > 0.2 ? ' class="warn"' : ''}>${esc(pct(f.missingRate))}</span>`, esc(fmt(f.mean)), esc(fmt(f.min)), esc(fmt(f.median)), esc(fmt(f.max)),
    ]), [false, true, true, true, true, true, true]));

  const params = Object.entries(card.parameters);
  let search = `<p>Search: ${esc(searchText(card))}.</p>`;
  if (card.search) {
    if (card.search.cv.length > 0) {
      search += '<p>Winner, cross-validated on the training part:</p>' + tableHtml(['metric', 'mean', 'std'], card.search.cv.map((c) => [esc(c.name), esc(fmt(c.mean)), esc(fmt(c.std))]), [false, true, true]);
    }
    if (card.search.topTrials.length > 0) {
      search += `<p>Best trials (of ${card.search.trialsFound} in the experiments table):</p>` + tableHtml(['trial', 'status', `score (${esc(card.search.metric)})`, 'params'], card.search.topTrials.map((tr) => [
        esc(`${tr.trialId}${tr.chosen ? ' (chosen)' : ''}`), esc(tr.status), esc(fmt(tr.score)), Object.entries(tr.params).map(([k, v]) => code(`${k}=${v}`)).join(' '),
      ]), [false, false, true, false]);
    }
  }
  section(SECTIONS.parameters, (params.length === 0 ? '<p>No parameter recorded.</p>' : tableHtml(['parameter', 'value'], params.map(([k, v]) => [code(k), code(v)]))) + search);

  if (card.metrics.length === 0) section(SECTIONS.metrics, '<p>None recorded.</p>');
  else {
    const b = card.bootstrap;
    const intro = b
      ? `On the held-out window, with ${esc(confidenceText(b.confidence))} percentile bootstrap intervals (${esc(fmt(b.resamples))} resamples of the held-out rows), at threshold ${esc(fmt(card.threshold.value, 4))}.`
      : `On the held-out window, at threshold ${esc(fmt(card.threshold.value, 4))} (no confidence intervals recorded).`;
    const c = card.confusion;
    const confusion = c ? `<p>Confusion matrix: ${c.tp} true positives, ${c.fp} false positives, ${c.tn} true negatives, ${c.fn} false negatives.</p>` : '';
    section(SECTIONS.metrics, `<p>${intro}</p>` + tableHtml(['metric', 'value', 'interval'], card.metrics.map((m) => [esc(m.name), esc(fmt(m.value)), esc(interval(m.low, m.high))]), [false, true, true]) + confusion);
  }

  const cal = card.calibration;
  section(SECTIONS.calibration, !cal ? '<p>Not recorded.</p>'
    : `<p>Expected calibration error ${esc(fmt(cal.ece))}, maximum ${esc(fmt(cal.mce))}, Brier score ${esc(fmt(cal.brier))}. Reliability on the held-out rows (uniform bins):</p>${calibrationSvg(card)}`
      + tableHtml(['scores', 'rows', 'mean score', 'observed positive rate'], cal.bins.map((bin) => [
        esc(`(${bin.lower.toFixed(1)}, ${bin.upper.toFixed(1)}]`), esc(fmt(bin.count)), esc(fmt(bin.meanPredicted)), esc(fmt(bin.fractionPositive)),
      ]), [false, true, true, true]));

  const oof = card.threshold.outOfFold;
  section(SECTIONS.threshold, `<p>Threshold ${esc(fmt(card.threshold.value, 4))} (strategy ${code(card.threshold.strategy)}): ${esc(card.threshold.how)}.</p>`
    + (oof ? `<p>At that threshold on the out-of-fold predictions: precision ${esc(fmt(oof.precision))}, recall ${esc(fmt(oof.recall))}, F1 ${esc(fmt(oof.f1))}.</p>` : ''));

  const seg = card.segments;
  if (!seg) section(SECTIONS.segments, '<p>No segments: the spec has no <code>training.segment_by</code>.</p>');
  else {
    const gaps = Object.entries(seg.gaps);
    section(SECTIONS.segments, `<p>Held-out metrics per value of ${code(seg.attribute)}${Number.isFinite(seg.coverage) ? esc(` (${pct(seg.coverage)} of the held-out rows had it)`) : ''}. ⚠ marks a segment with too few rows to trust.</p>`
      + tableHtml(['segment', ...SEGMENT_COLUMNS.map(esc)], seg.segments.map((s) => [
        `${code(s.name)}${s.lowSupport ? ' <span class="warn">⚠</span>' : ''}`, ...SEGMENT_COLUMNS.map((c) => esc(fmt(s.metrics[c] ?? Number.NaN))),
      ]), [false, ...SEGMENT_COLUMNS.map(() => true)])
      + (gaps.length > 0 ? '<p>Gaps (largest minus smallest across segments of at least 30 rows):</p>' + tableHtml(['gap', 'value'], gaps.map(([k, v]) => [esc(GAP_NAMES[k] ?? k), esc(fmt(v))]), [false, true]) : ''));
  }

  section(SECTIONS.drift, `<p>${esc(card.drift.features === 0
    ? 'No reference sample travels with this version: drift is not measured against its training data.'
    : `${card.drift.referenceSize} training values per feature (evenly spaced over the training part, ${card.drift.features} features) travel with the model in its registry record; monitoring compares live feature values against them. Their summary is in the features table above.`)}</p>`);

  const l = card.lineage;
  section(SECTIONS.lineage, `<ul><li>Parent champion: ${esc(parentText(card))}</li><li>Triggered by: ${l.trigger ? esc(l.trigger) : 'not recorded'}</li>`
    + `<li>Experiment: ${l.experimentId ? code(l.experimentId) : '–'}${l.runId ? `, run ${code(l.runId)}` : ''}</li>${l.searchId ? `<li>Search: ${code(l.searchId)}</li>` : ''}</ul>`);

  section(SECTIONS.limitations, card.limitations.length === 0 ? '<p>None found by the automatic checks.</p>'
    : `<ul class="lim">${card.limitations.map((lim) => `<li><strong>${esc(lim.kind.replace(/_/g, ' '))}</strong>: ${esc(lim.message)}</li>`).join('')}</ul>`);

  section(SECTIONS.history, tableHtml(['decided at', 'stage', 'by', 'reason', 'numbers'], card.history.map((h) => [
    esc(time(h.decidedAt)), esc(h.stage), esc(h.decidedBy || '–'), esc(h.reason || '–'),
    esc(Object.entries(h.metrics).map(([k, v]) => `${k}=${fmt(v)}`).join(', ') || '–'),
  ])));

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${parts.join('\n')}
</body>
</html>
`;
}
