import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPipelineSpec } from '@streamloop/config';
import {
  checkScaledObjects, checkWorkloads, composeWorkloads, interpolate, kubernetesWorkloads, parseCompose, parseDockerfile,
  parseDotEnv, parseManifests, planLocalProcesses, stageGroups,
} from './index';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TARGETS = ['ingestion', 'features', 'training', 'inference', 'monitoring', 'schema-registry'];
const image = { ...parseDockerfile(readFileSync(`${root}Dockerfile`, 'utf8')), name: 'streamloop:0.1.0' };
const composeText = readFileSync(`${root}deploy/compose/compose.yaml`, 'utf8');
const composeEnv = parseDotEnv(readFileSync(`${root}deploy/compose/.env.example`, 'utf8'));
const fraud = loadPipelineSpec(`${root}examples/pipelines/fraud.yaml`);

test('the Dockerfile\'s final stage: exec-form ENTRYPOINT and CMD, ENV, non-root user, healthcheck', () => {
  assert.deepEqual(image.entrypoint, ['node', 'bin/streamloop.mjs']);
  assert.deepEqual(image.cmd, ['start', '--target', 'all']);
  assert.equal(image.workdir, '/app');
  assert.equal(image.user, '1000:1000');
  assert.equal(image.env.PORT, '8080');
  assert.equal(image.env.CLICKHOUSE_DATA_DIR, '/data/chdb');
  assert.deepEqual(image.healthcheck, ['node', 'deploy/docker/healthcheck.mjs']);
  assert.throws(() => parseDockerfile('FROM x\nCMD node bin/streamloop.mjs'), /CMD: expected the exec form/);
});

test('compose interpolation: defaults, required variables, $$', () => {
  assert.equal(interpolate('${A:-x}-${B-y}-$$-${C}', { A: '', B: '' }), 'x--$-');
  assert.throws(() => interpolate('${P:?set it}', {}, 'compose.yaml services.a'), /compose.yaml services.a: required variable P is not set: set it/);
  assert.equal(interpolate('${P:?set it}', { P: 'pw' }), 'pw');
});

test('the compose file\'s targets pass the checks; a misspelt variable, a bad value or an unknown target fails them', () => {
  const workloads = composeWorkloads(parseCompose(composeText, composeEnv), image, `${root}deploy/compose`);
  assert.deepEqual(workloads.map((w) => w.name).sort(), ['features', 'inference', 'ingestion', 'monitoring', 'schema-registry', 'training']);
  assert.deepEqual(checkWorkloads(workloads, TARGETS), []);
  const training = workloads.find((w) => w.name === 'training')!;
  assert.equal(training.env.CLICKHOUSE_URL, 'http://streamloop:change-me@clickhouse:8123');
  assert.equal(training.env.STREAMLOOP_PIPELINES, '/etc/streamloop/examples/pipelines/fraud.yaml');
  assert.throws(() => parseCompose(composeText, {}), /required variable CLICKHOUSE_PASSWORD is not set/);

  const typo = parseCompose(composeText.replace('SCHEMA_REGISTRY_URL: http', 'SCHEMA_REGISTY_URL: http'), composeEnv);
  assert.match(checkWorkloads(composeWorkloads(typo, image, root), TARGETS).join('\n'), /ingestion: environment variable SCHEMA_REGISTY_URL is not a Streamloop setting.*did you mean SCHEMA_REGISTRY_URL/);
  const badValue = parseCompose(composeText.replace('STREAMLOOP_GBDT_THREADS: "2"', 'STREAMLOOP_GBDT_THREADS: "two"'), composeEnv);
  assert.match(checkWorkloads(composeWorkloads(badValue, image, root), TARGETS).join('\n'), /training: .*STREAMLOOP_GBDT_THREADS/);
  const badTarget = parseCompose(composeText.replace('"--target", "inference"', '"--target", "inferense"'), composeEnv);
  assert.match(checkWorkloads(composeWorkloads(badTarget, image, root), TARGETS).join('\n'), /inference: unknown target\(s\) inferense/);
});

const manifests = `
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { KAFKA_BROKERS: "kafka:9092", SCHEMA_REGISTRY_URL: "http://registry:8081", STREAMLOOP_PIPELINES: /etc/p/fraud.yaml }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: pipelines }
data: { fraud.yaml: "pipeline: fraud" }
---
apiVersion: v1
kind: Secret
metadata: { name: creds }
data: { url: ${Buffer.from('http://u:p@clickhouse:8123').toString('base64')} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: training }
spec:
  template:
    metadata: { labels: { c: training } }
    spec:
      containers:
        - name: s
          image: registry.example.com/streamloop:0.1.0
          args: [start, --target, training]
          ports: [{ name: http, containerPort: 8080 }]
          envFrom: [{ configMapRef: { name: settings } }]
          env:
            - { name: CLICKHOUSE_URL, valueFrom: { secretKeyRef: { name: creds, key: url } } }
            - { name: POD_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
            - { name: STREAMLOOP_ADVERTISED_URL, value: "http://$(POD_IP):8080" }
          volumeMounts: [{ name: p, mountPath: /etc/p }]
      volumes: [{ name: p, configMap: { name: pipelines } }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: registry }
spec:
  template:
    metadata: { labels: { c: registry } }
    spec:
      containers:
        - { name: s, image: "streamloop:0.1.0", args: [start, --target, schema-registry], ports: [{ name: http, containerPort: 8081 }], envFrom: [{ configMapRef: { name: settings } }] }
---
apiVersion: v1
kind: Service
metadata: { name: registry }
spec: { selector: { c: registry }, ports: [{ port: 8081, targetPort: http }] }
`;

test('rendered Deployments: env from ConfigMaps and Secrets, pod fields, mounts, Services; the local plan makes every address local', () => {
  const workloads = kubernetesWorkloads(parseManifests(manifests), image);
  assert.deepEqual(checkWorkloads(workloads, TARGETS), []);
  const training = workloads.find((w) => w.name === 'training')!;
  assert.equal(training.env.CLICKHOUSE_URL, 'http://u:p@clickhouse:8123');
  assert.deepEqual(training.podFields, ['POD_IP']);
  let next = 40000;
  const plan = planLocalProcesses(workloads, { brokers: '127.0.0.1:29092', clickhouse: '127.0.0.1:18123', repoRoot: '/repo', imageWorkdir: '/app', tempDir: '/tmp/x', freePort: () => next++ });
  const local = plan.find((p) => p.name === 'training')!;
  const registry = plan.find((p) => p.name === 'registry')!;
  assert.equal(local.env.KAFKA_BROKERS, '127.0.0.1:29092');
  assert.equal(local.env.CLICKHOUSE_URL, 'http://u:p@127.0.0.1:18123');
  assert.equal(local.env.SCHEMA_REGISTRY_URL, `http://127.0.0.1:${registry.ports[8081]}`);
  assert.equal(local.env.PORT, String(local.ports[8080]));
  assert.equal(local.env.STREAMLOOP_ADVERTISED_URL, `http://127.0.0.1:${local.ports[8080]}`);
  assert.equal(local.env.STREAMLOOP_PIPELINES, '/tmp/x/training/root/etc/p/fraud.yaml');
  assert.deepEqual(local.files, [{ path: '/tmp/x/training/root/etc/p/fraud.yaml', content: 'pipeline: fraud' }]);
  assert.equal(local.env.CLICKHOUSE_DATA_DIR, '/tmp/x/training/chdb');
  assert.equal(local.env.POD_IP, undefined);

  // A URL at a service nobody runs fails the plan as it would fail in the cluster.
  const wrong = kubernetesWorkloads(parseManifests(manifests.replace('http://registry:8081', 'http://registri:8081')), image);
  assert.throws(() => planLocalProcesses(wrong, { brokers: 'b:1', clickhouse: 'c:2', repoRoot: '/r', imageWorkdir: '/app', tempDir: '/t', freePort: () => next++ }), /SCHEMA_REGISTRY_URL points at registri:8081, which no workload of the manifest answers/);
});

test('KEDA ScaledObjects: the stages\' real group names, topics, and the partitions as maxReplicaCount', () => {
  const groups = stageGroups([fraud]);
  assert.deepEqual(groups.map((g) => `${g.target} ${g.group}`), [
    'ingestion streamloop-ingestion-fraud.events.raw',
    'features streamloop-features-fraud.events',
    'features streamloop-features-fraud.repartition.features.merchant_id',
    'inference streamloop-inference-fraud.features',
  ]);
  const workload = { name: 'streamloop-inference', args: ['start', '--target', 'inference'], env: {}, podFields: [], mounts: [], addresses: [] };
  const so = (group: string, max: number) => parseManifests(`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: so }
spec:
  scaleTargetRef: { name: streamloop-inference }
  maxReplicaCount: ${max}
  triggers: [{ type: kafka, metadata: { consumerGroup: ${group}, topic: fraud.features } }]
`);
  assert.deepEqual(checkScaledObjects(so('streamloop-inference-fraud.features', 3), [workload], [fraud]), []);
  assert.match(checkScaledObjects(so('inference-fraud.features', 3), [workload], [fraud]).join('\n'), /consumerGroup inference-fraud.features is no group of streamloop-inference's stages/);
  assert.match(checkScaledObjects(so('streamloop-inference-fraud.features', 5), [workload], [fraud]).join('\n'), /maxReplicaCount 5, expected 3/);
  assert.match(checkScaledObjects([], [workload], [fraud]).join('\n'), /no ScaledObject scales it/);
});
