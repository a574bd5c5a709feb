// npm run check:deploy — the Dockerfile, the compose file and the Kubernetes overlays checked offline:
//   hadolint on the Dockerfile; the compose targets' variables, values and commands (libs/deployment checkWorkloads);
//   each overlay built by kustomize, validated by kubernetes-validate --strict against the Kubernetes schemas it ships,
//   its KEDA objects against KEDA's schemas (@kubernetes-models/keda), its Deployments' variables and commands, its
//   ScaledObjects' consumer groups and partitions against the pipeline specs they run; the specs baked into the k8s
//   base equal the examples. Prints every problem and exits 1 when there is one. Tools: scripts/deploy/tools.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { loadPipelineSpec } from '@streamloop/config';
import { checkScaledObjects, checkWorkloads, parseCompose, planLocalProcesses, type K8sObject, type Workload } from '@streamloop/deployment';
import { COMPOSE_FILE, composeEnv, hadolintPath, K8S_OVERLAYS, KNOWN_TARGETS, kubernetesValidatePath, loadComposeWorkloads, loadImage, loadK8sWorkloads, ROOT } from './common';

const problems: string[] = [];
const section = (name: string, found: string[]) => {
  console.log(`${found.length === 0 ? 'ok  ' : 'FAIL'} ${name}`);
  for (const p of found) console.log(`     ${p}`);
  problems.push(...found);
};
const attempt = (name: string, fn: () => string[]) => {
  try {
    section(name, fn());
  } catch (error) {
    section(name, [(error as Error).message]);
  }
};

attempt('Dockerfile: hadolint', () => {
  try {
    execFileSync(hadolintPath(), ['--no-color', '--failure-threshold', 'warning', join(ROOT, 'Dockerfile')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return [];
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return (`${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message).split('\n');
  }
});
attempt('Dockerfile: exec-form ENTRYPOINT/CMD, non-root USER, HEALTHCHECK', () => {
  const image = loadImage();
  const found: string[] = [];
  if (image.entrypoint.join(' ') !== 'node bin/streamloop.mjs') found.push(`ENTRYPOINT ${JSON.stringify(image.entrypoint)}, expected ["node", "bin/streamloop.mjs"]`);
  if (!image.user || /^(0|root)(:|$)/.test(image.user)) found.push(`USER ${image.user ?? '(none)'}: the image must not run as root`);
  if (!image.healthcheck) found.push('no HEALTHCHECK');
  found.push(...checkWorkloads([{ name: 'image defaults', args: image.cmd, env: image.env, podFields: [], mounts: [], addresses: [] }], KNOWN_TARGETS));
  return found;
});
attempt(`compose: ${COMPOSE_FILE.slice(ROOT.length)}`, () => {
  const workloads = loadComposeWorkloads();
  return [...checkWorkloads(workloads, KNOWN_TARGETS), ...specProblems(workloads)];
});
attempt('compose: every bind mount exists; a Prometheus target file for each of deploy/prometheus\'s file_sd files', () => {
  const dir = dirname(COMPOSE_FILE);
  const compose = parseCompose(readFileSync(COMPOSE_FILE, 'utf8'), composeEnv());
  const found: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source ?? '';
      if ((source.startsWith('.') || source.startsWith('/')) && !existsSync(resolve(dir, source))) found.push(`${name}: volume source ${source} does not exist (${resolve(dir, source)})`);
    }
  }
  const prometheus = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs?: Array<{ file_sd_configs?: Array<{ files: string[] }> }> };
  for (const file of (prometheus.scrape_configs ?? []).flatMap((c) => (c.file_sd_configs ?? []).flatMap((f) => f.files))) {
    const local = join(dir, 'prometheus-targets', file.replace(/^targets\//, ''));
    if (!existsSync(local)) found.push(`deploy/prometheus/prometheus.yml reads ${file}; compose mounts prometheus-targets/ there, which lacks ${file.replace(/^targets\//, '')}`);
  }
  return found;
});
attempt('k8s base: pipeline specs and schemas equal the examples', () => {
  const pairs = [['deploy/k8s/base/pipelines/fraud.yaml', 'examples/pipelines/fraud.yaml'], ['deploy/k8s/base/schemas/card_transaction.avsc', 'examples/schemas/card_transaction.avsc']];
  return pairs.filter(([a, b]) => readFileSync(join(ROOT, a!), 'utf8') !== readFileSync(join(ROOT, b!), 'utf8')).map(([a, b]) => `${a} differs from ${b}: copy it again`);
});
for (const overlay of K8S_OVERLAYS) {
  attempt(`k8s overlay ${overlay}`, () => {
    const { workloads, objects, text } = loadK8sWorkloads(overlay);
    const found: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'streamloop-k8s-'));
    try {
      const file = join(dir, `${overlay}.yaml`);
      writeFileSync(file, text);
      try {
        execFileSync(kubernetesValidatePath(), ['--strict', '--quiet', '--no-warn', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        found.push(...`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').map((l) => `kubernetes-validate: ${l}`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    found.push(...kedaProblems(objects));
    if (workloads.length === 0) found.push('no Deployment runs the image');
    found.push(...checkWorkloads(workloads, KNOWN_TARGETS));
    const specs = specsOf(workloads);
    found.push(...checkScaledObjects(objects, workloads, specs.specs), ...specs.problems);
    return found;
  });
}

if (problems.length > 0) {
  console.error(`check:deploy: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('check:deploy: the Dockerfile, compose file and Kubernetes overlays are consistent with the platform');

/** KEDA's own schemas: kubernetes-validate has none for its custom resources. */
function kedaProblems(objects: K8sObject[]): string[] {
  const found: string[] = [];
  for (const o of objects.filter((x) => x.apiVersion.startsWith('keda.sh/'))) {
    try {
      if (o.kind === 'ScaledObject') new ScaledObject(o as never).validate();
      else if (o.kind === 'TriggerAuthentication') new TriggerAuthentication(o as never).validate();
      else found.push(`${o.kind} ${o.metadata.name}: a KEDA kind this check does not validate`);
    } catch (error) {
      found.push(`${o.kind} ${o.metadata.name}: ${(error as Error).message}`);
    }
  }
  return found;
}

/** The pipeline specs the workloads run, read through their mounts as a process would (STREAMLOOP_PIPELINES). */
function specsOf(workloads: Workload[]) {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-deploy-check-'));
  const problems: string[] = [];
  const specs = new Map<string, ReturnType<typeof loadPipelineSpec>>();
  try {
    let port = 40000;
    const plan = planLocalProcesses(workloads, { brokers: '127.0.0.1:9092', clickhouse: '127.0.0.1:8123', repoRoot: ROOT.replace(/\/$/, ''), imageWorkdir: loadImage().workdir, tempDir: dir, freePort: () => port++ });
    for (const p of plan) {
      for (const f of p.files) {
        mkdirSync(dirname(f.path), { recursive: true });
        writeFileSync(f.path, f.content);
      }
    }
    for (const p of plan) {
      for (const file of (p.env.STREAMLOOP_PIPELINES ?? '').split(',').filter(Boolean)) {
        try {
          const spec = loadPipelineSpec(file);
          specs.set(spec.pipeline, spec);
        } catch (error) {
          problems.push(`${p.name}: STREAMLOOP_PIPELINES ${file}: ${(error as Error).message}`);
        }
      }
    }
  } catch (error) {
    problems.push((error as Error).message);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { specs: [...specs.values()], problems };
}

function specProblems(workloads: Workload[]): string[] {
  return specsOf(workloads).problems;
}
