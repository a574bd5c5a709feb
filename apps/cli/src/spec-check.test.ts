// `streamloop validate` and `streamloop features` run as a user runs them (bin/streamloop.mjs in a child process),
// offline: no broker, no registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FRAUD = 'examples/pipelines/fraud.yaml';
const EXAMPLES = ['examples/pipelines/fraud.yaml', 'examples/pipelines/fraud-gbdt-search.yaml'];
const EVENT_SCHEMA = join(ROOT, 'examples/schemas/card_transaction.avsc');
const LABEL_SCHEMA = join(ROOT, 'examples/schemas/chargeback.avsc');
/** fraud.yaml's labels as the payments app's own chargeback decisions. */
const ownLabels = (y: string, labels = `field: is_fraud\n  schema: ${LABEL_SCHEMA}\n  event_id_field: transaction_id\n  time_field: decided_at`) =>
  y.replace('labels:\n  field: is_fraud', `labels:\n  ${labels}`);

interface CliRun { code: number; stdout: string; stderr: string }

function streamloop(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/streamloop.mjs'), ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const RATIO = '- { name: amount_vs_card_mean, op: ratio, numerator: amount, denominator: card_amount_mean_24h }';
const dir = mkdtempSync(join(tmpdir(), 'streamloop-validate-'));
/** fraud.yaml with its event schema at an absolute path, changed by `edit`, written to the temp dir as `name`. */
function brokenSpec(name: string, edit: (yaml: string) => string): string {
  const yaml = readFileSync(join(ROOT, FRAUD), 'utf8').replace('../schemas/card_transaction.avsc', EVENT_SCHEMA);
  const changed = edit(yaml);
  assert.notEqual(changed, yaml, `${name}: the edit changed nothing`);
  const file = join(dir, name);
  writeFileSync(file, changed);
  return file;
}

test('validate accepts every example spec, one ok line each', async () => {
  const run = await streamloop('validate', ...EXAMPLES);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, EXAMPLES.map((f) => `ok  ${f} (pipeline fraud: 20 features)\n`).join(''));
});

// Each broken spec alone: exit 1, and the message names the file, the key and what was expected.
const BROKEN: Array<{ name: string; edit: (yaml: string) => string; expected: RegExp }> = [
  {
    name: 'unknown-field.yaml',
    edit: (y) => y.replace('{ name: log_amount, op: log1p, field: amount }', '{ name: log_amount, op: log1p, field: amount_eur }'),
    expected: /unknown-field\.yaml: features\.transforms\[1\]\.field: the event schema \S+ has no field "amount_eur"/,
  },
  {
    name: 'wrong-type.yaml',
    edit: (y) => y.replace('{ name: log_amount, op: log1p, field: amount }', '{ name: log_amount, op: log1p, field: merchant_category }'),
    expected: /wrong-type\.yaml: features\.transforms\[1\]\.field: field "merchant_category" is .* in the event schema, expected a number/,
  },
  {
    name: 'bad-window.yaml',
    edit: (y) => y.replace('op: count, window: 1h }', 'op: count, window: 5x }'),
    expected: /bad-window\.yaml: features\.aggregates\[0\]\.window: expected a duration like 5m, 1h, 7d, got "5x"/,
  },
  {
    name: 'missing-schema.yaml',
    edit: (y) => y.replace(EVENT_SCHEMA, join(dir, 'nowhere.avsc')),
    expected: /missing-schema\.yaml: events\.schema: expected an Avro schema file at \S*nowhere\.avsc \(relative to the spec file\), there is none/,
  },
  {
    name: 'bad-monitoring.yaml',
    edit: (y) => y.replace('psi_bins: 10', 'psi_bins: 1'),
    expected: /bad-monitoring\.yaml: monitoring\.psi_bins: expected a number >= 2, got 1/,
  },
  {
    name: 'unknown-param.yaml',
    // Checked by training when it runs, by validate before anything runs.
    edit: (y) => y.replace('params: { l2: 1.0, max_iter: 100 }', 'params: { l3: 1.0, max_iter: 100 }'),
    expected: /unknown-param\.yaml: model\.params\.l3: unknown parameter for logistic_regression; expected one of l2, C/,
  },
  {
    name: 'bad-expr.yaml',
    edit: (y) => y.replace(RATIO, `${RATIO}\n    - { name: amount_z, op: expr, expr: "amount - sqrt(card_amount_mean_24h, 2)" }`),
    expected: /bad-expr\.yaml: features\.transforms\[9\]\.expr: column 10: sqrt takes 1 argument, got 2/,
  },
  {
    name: 'expr-string-field.yaml',
    edit: (y) => y.replace(RATIO, `${RATIO}\n    - { name: amount_z, op: expr, expr: "amount * country" }`),
    expected: /expr-string-field\.yaml: features\.transforms\[9\]\.expr: column 10: field "country" is string in the event schema, expected a number or boolean/,
  },
  {
    name: 'unknown-drift-feature.yaml',
    edit: (y) => y.replace('  psi_threshold: 0.2', '  psi_threshold: 0.2\n  features:\n    card_count_1h: { exclude: true }'),
    expected: /unknown-drift-feature\.yaml: monitoring\.features\.card_count_1h: no feature "card_count_1h" in this spec; expected a feature column \(amount, /,
  },
  {
    name: 'unknown-key.yaml',
    edit: (y) => y.replace('labels:\n  field: is_fraud', 'labels:\n  field: is_fraud\n  column: label'),
    expected: /unknown-key\.yaml: labels\.column: unknown key/,
  },
  {
    name: 'label-field-type.yaml',
    edit: (y) => ownLabels(y, `field: reason\n  schema: ${LABEL_SCHEMA}\n  event_id_field: transaction_id`),
    expected: /label-field-type\.yaml: labels\.field: field "reason" is \["null", string\] in the label schema, expected a boolean, or an int, long, float or double of 0 or 1/,
  },
  {
    name: 'label-id-missing.yaml',
    edit: (y) => ownLabels(y, `field: is_fraud\n  schema: ${LABEL_SCHEMA}\n  event_id_field: txn_id`),
    expected: /label-id-missing\.yaml: labels\.event_id_field: the label schema com\.example\.payments\.ChargebackDecision has no field "txn_id" \(it has case_id, transaction_id, is_fraud, decided_at, reason\)/,
  },
  {
    name: 'label-schema-missing.yaml',
    edit: (y) => ownLabels(y, `field: is_fraud\n  schema: ${join(dir, 'nowhere-labels.avsc')}\n  event_id_field: transaction_id`),
    expected: /label-schema-missing\.yaml: labels\.schema: expected an Avro schema file at \S*nowhere-labels\.avsc \(relative to the spec file\), there is none/,
  },
  {
    name: 'labels-from-events.yaml',
    edit: (y) => ownLabels(y, 'field: is_fraud\n  from_events: { event_id_field: chargeback_of, label: 1 }'),
    expected: /labels-from-events\.yaml: labels\.from_events\.event_id_field: the event schema com\.example\.payments\.CardTransaction has no field "chargeback_of"/,
  },
];

test("validate accepts labels in the producer's own schema, checked offline against it", async () => {
  const file = brokenSpec('own-labels.yaml', (y) => ownLabels(y));
  const run = await streamloop('validate', file);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `ok  ${file} (pipeline fraud: 20 features)\n`);
});

test('validate: a broken spec exits 1 with a message naming the file, the key and what was expected', async () => {
  const runs = await Promise.all(BROKEN.map(async (c) => ({ c, run: await streamloop('validate', brokenSpec(c.name, c.edit)) })));
  for (const { c, run } of runs) {
    assert.equal(run.code, 1, `${c.name}: exit ${run.code}\n${run.stdout}${run.stderr}`);
    assert.match(run.stderr, c.expected, c.name);
    assert.doesNotMatch(run.stdout, /^ok /m, c.name);
  }
});

test('validate checks every spec it is given and fails if one fails', async () => {
  const broken = join(dir, 'unknown-field.yaml');
  const run = await streamloop('validate', FRAUD, broken);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, `ok  ${FRAUD} (pipeline fraud: 20 features)\n`);
  assert.match(run.stderr, /features\.transforms\[1\]\.field/);
  assert.match(run.stderr, /1 of 2 spec\(s\) invalid/);
});

test('features prints the vector in model order with what computes each column and its stage', async () => {
  const run = await streamloop('features', FRAUD);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines[0], 'pipeline fraud, features v1: 20 features, 2 stages');
  assert.equal(lines[1], '  stage 0: keyed by card_id, reads fraud.events');
  assert.equal(lines[2], '  stage 1: keyed by merchant_id, reads fraud.repartition.features.merchant_id, writes fraud.features');
  assert.match(run.stdout, /^4 +category=grocery +one-hot column +one_hot\(merchant_category\) = "grocery" +1 \(merchant_id\)$/m);
  assert.match(run.stdout, /^16 +card_amount_mean_24h +double +mean\(amount\) per card_id over 24h +0 \(card_id\)$/m);
  assert.match(run.stdout, /^19 +merchant_txn_count_1h +double +count per merchant_id over 1h +1 \(merchant_id\)$/m);
});

test('validate and features accept expr transforms: one double column each, computed in the last stage', async () => {
  const file = brokenSpec('with-expr.yaml', (y) => y.replace(RATIO, `${RATIO}
    - { name: amount_z, op: expr, expr: "coalesce((amount - card_amount_mean_24h) / card_amount_max_24h, 0)" }
    - { name: quiet_foreign, op: expr, expr: "if(foreign and merchant_txn_count_1h < 2, amount_z, -1)" }`));
  const [validate, features] = await Promise.all([streamloop('validate', file), streamloop('features', file)]);
  assert.equal(validate.code, 0, validate.stderr);
  assert.equal(validate.stdout, `ok  ${file} (pipeline fraud: 22 features)\n`);
  assert.equal(features.code, 0, features.stderr);
  assert.match(features.stdout, /^14 +amount_z +double +expr\(coalesce\(\(amount - card_amount_mean_24h\) \/ card_amount_max_24h, 0\)\) +1 \(merchant_id\)$/m);
  assert.match(features.stdout, /^15 +quiet_foreign +double +expr\(if\(foreign and merchant_txn_count_1h < 2, amount_z, -1\)\) +1 \(merchant_id\)$/m);
});

test('features on an invalid spec exits 1 with the same message as validate', async () => {
  const broken = brokenSpec('features-bad-window.yaml', (y) => y.replace('op: count, window: 1h }', 'op: count, window: 5x }'));
  const [features, validate] = await Promise.all([streamloop('features', broken), streamloop('validate', broken)]);
  assert.equal(features.code, 1);
  assert.equal(features.stdout, '');
  assert.match(features.stderr, /features-bad-window\.yaml: features\.aggregates\[0\]\.window: expected a duration/);
  assert.ok(validate.stderr.startsWith(features.stderr), `${features.stderr}\nvs\n${validate.stderr}`);
});

test('validate accepts monitoring.detectors.warm_up (0: River\'s behaviour) and refuses one that is not a whole number ≥ 0', async () => {
  const withWarmUp = (name: string, v: string) => brokenSpec(name, (y) => y.replace('  psi_threshold: 0.2', `  psi_threshold: 0.2\n  detectors: { label_delay: 2h, warm_up: ${v} }`));
  const [zero, some, negative] = await Promise.all([
    streamloop('validate', withWarmUp('warm-up-0.yaml', '0')), streamloop('validate', withWarmUp('warm-up-300.yaml', '300')),
    streamloop('validate', withWarmUp('warm-up-negative.yaml', '-5')),
  ]);
  assert.equal(zero.code, 0, zero.stderr);
  assert.equal(some.code, 0, some.stderr);
  assert.equal(negative.code, 1);
  assert.match(negative.stderr, /warm-up-negative\.yaml: monitoring\.detectors\.warm_up: expected a number >= 0, got -5/);
});

test('validate without a spec is refused as bad usage', async () => {
  const run = await streamloop('validate');
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /missing required argument 'spec'/);
});
