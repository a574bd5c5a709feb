// deploy/prometheus and deploy/grafana checked as Prometheus itself checks them (promtool from Debian's `prometheus`
// package), and every metric name they use is one the platform exports (docs/metrics.md) or a recording rule's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const ROOT = new URL('../../../', import.meta.url).pathname;
const PROMETHEUS_DIR = join(ROOT, 'deploy/prometheus');
const GRAFANA_DIR = join(ROOT, 'deploy/grafana');

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
// Under CI a missing promtool is a failure (.ci/run installs it), elsewhere a skip.
const skip = !hasPromtool && process.env.CI !== 'true' ? 'promtool is not installed (Debian: apt-get install prometheus)' : false;

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const ruleFiles = () => readdirSync(join(PROMETHEUS_DIR, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => `rules/${f}`);

test('promtool check config: prometheus.yml (with its rule files and file_sd target files)', { skip }, () => {
  const r = promtool('check', 'config', 'prometheus.yml');
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS/);
});

test('promtool check rules: the recording and alerting rules', { skip }, () => {
  const files = ruleFiles();
  assert.ok(files.length >= 2, `rule files: ${files.join(', ')}`);
  const r = promtool('check', 'rules', ...files);
  assert.equal(r.status, 0, r.output);
});

test('promtool test rules: each alert fires on the series that should raise it and on no others', { skip }, () => {
  const tests = readdirSync(join(PROMETHEUS_DIR, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => `tests/${f}`);
  assert.ok(tests.length > 0);
  const r = promtool('test', 'rules', ...tests);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS/);
});

test('the scrape config has a job per target, each reading a file_sd file under targets/', () => {
  const config = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; file_sd_configs?: Array<{ files: string[] }> }>;
  };
  const jobs = new Map(config.scrape_configs.map((j) => [j.job_name, j.file_sd_configs?.flatMap((c) => c.files) ?? []]));
  for (const target of ['ingestion', 'features', 'inference', 'monitoring', 'training', 'schema-registry', 'streamloop']) {
    assert.deepEqual(jobs.get(target), [`targets/${target}.yml`], `job ${target}`);
    // The file exists and parses as a file_sd list.
    const entries = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'targets', `${target}.yml`), 'utf8')) as unknown;
    assert.ok(Array.isArray(entries), `targets/${target}.yml is a list`);
  }
});

/** Every `streamloop_…` metric name and `level:metric:ops` recorded name in a PromQL expression. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z_]+:[a-z0-9_]+(?::[a-z0-9_]+)?|streamloop_[a-z0-9_]+)\b/g)].map((m) => m[1]);
}

/** The series names a metric exports: a histogram's _bucket, _sum and _count. */
function exportedSeries(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  const out = new Set<string>();
  for (const m of doc.matchAll(/^\|\s*`(streamloop_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|/gm)) {
    out.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m[1] + s);
  }
  return out;
}

interface Rule { record?: string; alert?: string; expr: string }
const rules = (): Rule[] => ruleFiles().flatMap((f) => (parseYaml(readFileSync(join(PROMETHEUS_DIR, f), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules));

interface Panel { type: string; title: string; description?: string; datasource?: { uid: string }; targets?: Array<{ expr: string }>; panels?: Panel[] }
const dashboards = (): Array<{ file: string; title: string; panels: Panel[] }> => readdirSync(join(GRAFANA_DIR, 'dashboards')).filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, ...(JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', file), 'utf8')) as { title: string; panels: Panel[] }) }));

test('rules and dashboard panels use only metrics the platform exports (docs/metrics.md) and recorded names', () => {
  const exported = exportedSeries();
  const recorded = new Set(rules().flatMap((r) => (r.record ? [r.record] : [])));
  const unknown: string[] = [];
  const check = (where: string, expr: string) => {
    for (const name of metricNames(expr)) if (!exported.has(name) && !recorded.has(name)) unknown.push(`${where}: ${name}`);
  };
  for (const r of rules()) check(r.record ?? r.alert ?? '?', r.expr);
  for (const d of dashboards()) {
    for (const p of d.panels) for (const t of p.targets ?? []) check(`${d.file} "${p.title}"`, t.expr);
  }
  assert.deepEqual(unknown, []);
});

test('dashboards: three, each panel with a description and a query on the provisioned Prometheus', () => {
  const all = dashboards();
  assert.deepEqual(all.map((d) => d.file).sort(), ['streamloop-loop.json', 'streamloop-models.json', 'streamloop-services.json']);
  const provisioning = parseYaml(readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ type: string; url: string }> };
  assert.equal(provisioning.datasources[0].type, 'prometheus');
  assert.equal(provisioning.datasources[0].url, '${PROMETHEUS_URL}');
  assert.match(readFileSync(join(GRAFANA_DIR, 'grafana.env'), 'utf8'), /^PROMETHEUS_URL=http:\/\/prometheus:9090$/m);
  for (const d of all) {
    const panels = d.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 5, `${d.file}: ${panels.length} panels`);
    for (const p of panels) {
      assert.ok(p.description, `${d.file} "${p.title}" has no description`);
      assert.equal(p.datasource?.uid, '${datasource}', `${d.file} "${p.title}" reads the dashboard's datasource variable`);
      assert.ok((p.targets ?? []).length > 0 && p.targets!.every((t) => t.expr.trim() !== ''), `${d.file} "${p.title}" has a query`);
      // `or vector(0)` hides a missing series: allowed only where the description says why a zero is meaningful.
      if (p.targets!.some((t) => /vector\(0\)/.test(t.expr))) assert.match(p.description!, /zero is (a real zero|meaningful)/i, `${d.file} "${p.title}"`);
    }
  }
});
