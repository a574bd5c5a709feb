// The card as Markdown (CommonMark + GFM tables). Names are printed as code spans, free text (reasons, owner,
// intended use: written by people) is escaped so that it cannot open HTML, links or emphasis, nor break a table.
import type { ModelCard } from './card-model';
import {
  confidenceText, fmt, GAP_NAMES, importanceKindText, interval, parentText, pct, searchText, SECTIONS, SEGMENT_COLUMNS, statusOf, time,
} from './format';

/** Free text: HTML and Markdown punctuation escaped, line breaks folded (a table cell stays one line). */
export function mdText(text: string): string {
  return text
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/\r?\n|\r/g, ' ');
}

/** A name as a code span (backticks inside are fenced by longer runs); line breaks folded. */
export function mdCode(text: string): string {
  const flat = text.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export function renderMarkdown(card: ModelCard): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', `## ${title}`, '');
  out.push(`# Model card: ${mdText(card.modelName)} v${card.version}`, '');
  out.push(`Pipeline ${mdCode(card.pipeline)}, generated ${time(card.generatedAt)} from the model registry, the experiment log and the registry's audit trail.`);
  for (const note of card.notes) out.push('', `> Note: ${mdText(note)}`);

  section(SECTIONS.overview);
  out.push(...table(['', ''], [
    ['model', mdCode(card.modelName)], ['version', String(card.version)], ['algorithm', mdCode(card.algorithm)],
    ['stage', mdText(statusOf(card))], ['trained', time(card.createdAt)],
    ['feature spec version', mdCode(card.training.featureSpecVersion)], ['ONNX SHA-256', mdCode(card.training.onnxSha256)],
  ]));

  section(SECTIONS.intendedUse);
  out.push(`- Owner: ${card.owner ? mdText(card.owner) : 'not stated (set `model.owner` in the pipeline spec)'}`);
  out.push(`- Intended use: ${card.intendedUse ? mdText(card.intendedUse) : 'not stated (set `model.intended_use` in the pipeline spec)'}`);

  section(SECTIONS.data);
  const t = card.training;
  out.push(...table(['', ''], [
    ['data window', `${time(t.windowStart)} to ${time(t.windowEnd)}`],
    ['training rows', fmt(t.trainingRows)],
    ['held-out rows', `${fmt(t.holdoutRows)} (the newest events, from ${time(t.holdoutStart)}), ${fmt(t.holdoutPositives)} positive`],
  ]));

  section(SECTIONS.features);
  out.push(`Importance: ${importanceKindText(card.importanceKind)}. Missing: share of the reference sample without a value.`, '');
  const features = [...card.features].sort((a, b) => (Number.isFinite(b.importance) ? b.importance : -1) - (Number.isFinite(a.importance) ? a.importance : -1));
  out.push(...table(['feature', 'importance', 'missing', 'mean', 'min', 'median', 'max'], features.map((f) => [
    mdCode(f.name), pct(f.importance), pct(f.missingRate), fmt(f.mean), fmt(f.min), fmt(f.median), fmt(f.max),
  ])));

  section(SECTIONS.parameters);
  const params = Object.entries(card.parameters);
  out.push(params.length === 0 ? 'No parameter recorded.' : table(['parameter', 'value'], params.map(([k, v]) => [mdCode(k), mdCode(v)])).join('\n'));
  out.push('', `Search: ${mdText(searchText(card))}.`);
  if (card.search) {
    if (card.search.cv.length > 0) {
      out.push('', 'Winner, cross-validated on the training part:', '');
      out.push(...table(['metric', 'mean', 'std'], card.search.cv.map((c) => [c.name, fmt(c.mean), fmt(c.std)])));
    }
    if (card.search.topTrials.length > 0) {
      out.push('', `Best trials (of ${card.search.trialsFound} in the experiments table):`, '');
      out.push(...table(['trial', 'status', `score (${mdText(card.search.metric)})`, 'params'], card.search.topTrials.map((tr) => [
        `${tr.trialId}${tr.chosen ? ' (chosen)' : ''}`, tr.status, fmt(tr.score),
        Object.entries(tr.params).map(([k, v]) => mdCode(`${k}=${v}`)).join(' '),
      ])));
    }
  }

  section(SECTIONS.metrics);
  if (card.metrics.length === 0) out.push('None recorded.');
  else {
    const b = card.bootstrap;
    out.push(b
      ? `On the held-out window, with ${confidenceText(b.confidence)} percentile bootstrap intervals (${fmt(b.resamples)} resamples of the held-out rows), at threshold ${fmt(card.threshold.value, 4)}.`
      : `On the held-out window, at threshold ${fmt(card.threshold.value, 4)} (no confidence intervals recorded).`, '');
    out.push(...table(['metric', 'value', 'interval'], card.metrics.map((m) => [m.name, fmt(m.value), interval(m.low, m.high)])));
    if (card.confusion) {
      const c = card.confusion;
      out.push('', `Confusion matrix: ${c.tp} true positives, ${c.fp} false positives, ${c.tn} true negatives, ${c.fn} false negatives.`);
    }
  }

  section(SECTIONS.calibration);
  const cal = card.calibration;
  if (!cal) out.push('Not recorded.');
  else {
    out.push(`Expected calibration error ${fmt(cal.ece)}, maximum ${fmt(cal.mce)}, Brier score ${fmt(cal.brier)}. Reliability on the held-out rows (uniform bins):`, '');
    out.push(...table(['scores', 'rows', 'mean score', 'observed positive rate'], cal.bins.map((bin) => [
      `(${bin.lower.toFixed(1)}, ${bin.upper.toFixed(1)}]`, fmt(bin.count), fmt(bin.meanPredicted), fmt(bin.fractionPositive),
    ])));
  }

  section(SECTIONS.threshold);
  out.push(`Threshold ${fmt(card.threshold.value, 4)} (strategy ${mdCode(card.threshold.strategy)}): ${mdText(card.threshold.how)}.`);
  const oof = card.threshold.outOfFold;
  if (oof) out.push('', `At that threshold on the out-of-fold predictions: precision ${fmt(oof.precision)}, recall ${fmt(oof.recall)}, F1 ${fmt(oof.f1)}.`);

  section(SECTIONS.segments);
  const seg = card.segments;
  if (!seg) out.push('No segments: the spec has no `training.segment_by`.');
  else {
    out.push(`Held-out metrics per value of ${mdCode(seg.attribute)}${Number.isFinite(seg.coverage) ? ` (${pct(seg.coverage)} of the held-out rows had it)` : ''}. ⚠ marks a segment with too few rows to trust.`, '');
    out.push(...table(['segment', ...SEGMENT_COLUMNS], seg.segments.map((s) => [
      `${mdCode(s.name)}${s.lowSupport ? ' ⚠' : ''}`, ...SEGMENT_COLUMNS.map((c) => fmt(s.metrics[c] ?? Number.NaN)),
    ])));
    const gaps = Object.entries(seg.gaps);
    if (gaps.length > 0) {
      out.push('', 'Gaps (largest minus smallest across segments of at least 30 rows):', '');
      out.push(...table(['gap', 'value'], gaps.map(([k, v]) => [mdText(GAP_NAMES[k] ?? k), fmt(v)])));
    }
  }

  section(SECTIONS.drift);
  out.push(card.drift.features === 0
    ? 'No reference sample travels with this version: drift is not measured against its training data.'
    : `${card.drift.referenceSize} training values per feature (evenly spaced over the training part, ${card.drift.features} features) travel with the model in its registry record; monitoring compares live feature values against them. Their summary is in the features table above.`);

  section(SECTIONS.lineage);
  const l = card.lineage;
  out.push(`- Parent champion: ${mdText(parentText(card))}`);
  out.push(`- Triggered by: ${l.trigger ? mdText(l.trigger) : 'not recorded'}`);
  out.push(`- Experiment: ${l.experimentId ? mdCode(l.experimentId) : '–'}${l.runId ? `, run ${mdCode(l.runId)}` : ''}`);
  if (l.searchId) out.push(`- Search: ${mdCode(l.searchId)}`);

  section(SECTIONS.limitations);
  if (card.limitations.length === 0) out.push('None found by the automatic checks.');
  for (const lim of card.limitations) out.push(`- **${lim.kind.replace(/_/g, ' ')}**: ${mdText(lim.message)}`);

  section(SECTIONS.history);
  out.push(...table(['decided at', 'stage', 'by', 'reason', 'numbers'], card.history.map((h) => [
    time(h.decidedAt), h.stage, mdText(h.decidedBy || '–'), mdText(h.reason || '–'),
    Object.entries(h.metrics).map(([k, v]) => `${mdText(k)}=${fmt(v)}`).join(', ') || '–',
  ])));
  return `${out.join('\n')}\n`;
}
