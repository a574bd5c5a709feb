import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { SchemaRegistryMetrics, StreamloopMetrics } from './metrics';

const DOC = new URL('../../../docs/metrics.md', import.meta.url);

interface DocumentedMetric { type: string; labels: string[] }

/** The rows of docs/metrics.md's tables whose first cell is a metric name: name → type and labels. */
function documentedMetrics(markdown: string): Map<string, DocumentedMetric> {
  const out = new Map<string, DocumentedMetric>();
  for (const line of markdown.split('\n')) {
    const cells = /^\|\s*`(streamloop_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|([^|]*)\|/.exec(line);
    if (!cells) continue;
    const labels = [...cells[3].matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    assert.ok(!out.has(cells[1]), `docs/metrics.md lists ${cells[1]} twice`);
    out.set(cells[1], { type: cells[2], labels });
  }
  return out;
}

/** The names under "Dimensionless gauges" (a two-column table: name, reason). */
function dimensionless(markdown: string): Set<string> {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Dimensionless gauges')) ?? '';
  return new Set([...section.matchAll(/^\|\s*`(streamloop_[a-z0-9_]+)`\s*\|/gm)].map((m) => m[1]));
}

interface RegisteredMetric { name: string; type: string; labels: string[]; standard: boolean }

/** Every metric a registry holds; `standard`: one of prom-client's process/Node.js collectors. */
async function registered(registry: Registry): Promise<RegisteredMetric[]> {
  const standard = new Set<string>();
  // The collectors' names, from a registry that holds nothing else.
  const { Registry: Fresh, collectDefaultMetrics } = await import('prom-client');
  const bare = new Fresh();
  collectDefaultMetrics({ register: bare, prefix: 'streamloop_' });
  for (const m of bare.getMetricsAsArray()) standard.add(m.name);
  return registry.getMetricsAsArray().map((m) => {
    const metric = m as unknown as { name: string; labelNames?: string[]; constructor: { name: string } };
    return { name: metric.name, type: metric.constructor.name.toLowerCase(), labels: [...(metric.labelNames ?? [])], standard: standard.has(metric.name) };
  });
}

const UNIT_SUFFIXES = ['_seconds', '_bytes', '_records', '_ratio'];

/** Why a platform metric's name breaks the naming rules of docs/metrics.md, or undefined. */
function namingProblem(m: { name: string; type: string }, unitless: Set<string>): string | undefined {
  if (!/^streamloop_[a-z][a-z0-9_]*[a-z0-9]$/.test(m.name)) return 'must be streamloop_ followed by lower-case words joined by _';
  if (m.type === 'counter') return m.name.endsWith('_total') ? undefined : 'a counter must end in _total';
  if (m.name.endsWith('_total')) return `only counters end in _total (this is a ${m.type})`;
  const unit = UNIT_SUFFIXES.find((s) => m.name.endsWith(s));
  if (m.type === 'histogram') return unit ? undefined : `a histogram must end in its unit (${UNIT_SUFFIXES.join(', ')})`;
  if (unit || unitless.has(m.name)) return undefined;
  return `a gauge must end in its unit (${UNIT_SUFFIXES.join(', ')}) or be listed under "Dimensionless gauges" with the reason`;
}

test('every metric the platform exports is documented in docs/metrics.md with its type and labels, and nothing else is', async () => {
  const doc = documentedMetrics(readFileSync(DOC, 'utf8'));
  const exported = new Map<string, RegisteredMetric>();
  for (const registry of [new StreamloopMetrics().registry, new SchemaRegistryMetrics().registry]) {
    for (const m of await registered(registry)) exported.set(m.name, m);
  }
  const problems: string[] = [];
  for (const m of exported.values()) {
    const d = doc.get(m.name);
    if (!d) problems.push(`${m.name} (${m.type}, labels ${m.labels.join(', ') || 'none'}) is missing from docs/metrics.md`);
    else {
      if (d.type !== m.type) problems.push(`${m.name} is a ${m.type}, docs/metrics.md says ${d.type}`);
      if (d.labels.join(',') !== m.labels.join(',')) problems.push(`${m.name} has labels [${m.labels.join(', ')}], docs/metrics.md says [${d.labels.join(', ')}]`);
    }
  }
  for (const name of doc.keys()) if (!exported.has(name)) problems.push(`docs/metrics.md lists ${name}, which no registry exports`);
  assert.deepEqual(problems, []);
});

test("the platform's own metrics follow the naming rules (counters end in _total, units in names)", async () => {
  const markdown = readFileSync(DOC, 'utf8');
  const unitless = dimensionless(markdown);
  const problems: string[] = [];
  const platform: RegisteredMetric[] = [];
  for (const registry of [new StreamloopMetrics().registry, new SchemaRegistryMetrics().registry]) {
    platform.push(...(await registered(registry)).filter((m) => !m.standard));
  }
  assert.ok(platform.length > 20, `found only ${platform.length} platform metrics`);
  for (const m of platform) {
    const problem = namingProblem(m, unitless);
    if (problem) problems.push(`${m.name}: ${problem}`);
  }
  for (const name of unitless) {
    const m = platform.find((p) => p.name === name);
    if (!m) problems.push(`"Dimensionless gauges" lists ${name}, which is not a platform metric`);
    else if (m.type !== 'gauge') problems.push(`"Dimensionless gauges" lists ${name}, a ${m.type}`);
  }
  assert.deepEqual(problems, []);
});

test('the naming rules refuse what the conventions refuse', () => {
  const none = new Set<string>();
  assert.match(namingProblem({ name: 'streamloop_consumer_lag', type: 'gauge' }, none) ?? '', /unit/);
  assert.match(namingProblem({ name: 'streamloop_model_error_rate', type: 'gauge' }, none) ?? '', /unit/);
  assert.match(namingProblem({ name: 'streamloop_records_in', type: 'counter' }, none) ?? '', /_total/);
  assert.match(namingProblem({ name: 'streamloop_handles_total', type: 'gauge' }, none) ?? '', /only counters/);
  assert.match(namingProblem({ name: 'streamloop_batch_duration', type: 'histogram' }, none) ?? '', /histogram/);
  assert.match(namingProblem({ name: 'process_cpu_seconds_total', type: 'counter' }, none) ?? '', /streamloop_/);
  assert.equal(namingProblem({ name: 'streamloop_consumer_lag_records', type: 'gauge' }, none), undefined);
  assert.equal(namingProblem({ name: 'streamloop_drift_score', type: 'gauge' }, new Set(['streamloop_drift_score'])), undefined);
});
