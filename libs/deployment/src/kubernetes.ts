import { parseAllDocuments } from 'yaml';
import { listeningPorts } from './targets';
import type { ImageConfig, Mount, Workload } from './workload';

/** A Kubernetes object as `kustomize build` prints it (only the fields read here are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are checked field by field where read
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** Every object of a multi-document YAML stream (kustomize build's output). */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`manifests: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

/**
 * Every Deployment whose container runs the image, as the pod would start it: the image's ENV under `envFrom` and
 * `env` (values from the rendered ConfigMaps and Secrets, `$(NAME)` references expanded as the kubelet does), `args`
 * (or the image's CMD), the ConfigMap and Secret volumes as files, and the Services that select it. `externalSecrets`
 * stands for Secrets made outside the manifests (name → key → example value); a key it lacks is an error.
 */
export function kubernetesWorkloads(objects: K8sObject[], image: ImageConfig, externalSecrets: Record<string, Record<string, string>> = {}): Workload[] {
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const find = (kind: string, name: string) => {
    const o = byKind(kind).find((x) => x.metadata.name === name);
    if (!o) throw new Error(`no ${kind} ${name} in the manifests`);
    return o;
  };
  const dataOf = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> => {
    // A Secret the operator creates (not in the manifests): the documented keys with example values.
    if (kind === 'Secret' && externalSecrets[name] && !byKind('Secret').some((x) => x.metadata.name === name)) return externalSecrets[name];
    const o = find(kind, name);
    if (kind === 'ConfigMap') return o.data ?? {};
    return { ...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])), ...o.stringData };
  };
  const workloads: Workload[] = [];
  for (const deployment of byKind('Deployment')) {
    const pod = deployment.spec?.template?.spec;
    const containers = (pod?.containers ?? []) as Array<Record<string, unknown>>;
    const container = containers.find((c) => imageMatches(String(c.image), image.name));
    if (!container) continue;
    const name = deployment.metadata.name;
    if (container.command !== undefined) throw new Error(`Deployment ${name}: command overrides the image's ENTRYPOINT; set args instead`);
    const args = (container.args as string[] | undefined) ?? image.cmd;
    const env: Record<string, string> = { ...image.env };
    for (const from of (container.envFrom ?? []) as Array<{ configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }>) {
      const data = from.configMapRef ? dataOf('ConfigMap', from.configMapRef.name) : from.secretRef ? dataOf('Secret', from.secretRef.name) : {};
      for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
    }
    const podFields: string[] = [];
    for (const variable of (container.env ?? []) as EnvVar[]) {
      const ref = variable.valueFrom;
      let value: string;
      if (ref?.configMapKeyRef) value = keyOf(dataOf('ConfigMap', ref.configMapKeyRef.name), ref.configMapKeyRef.key, `ConfigMap ${ref.configMapKeyRef.name}`, name);
      else if (ref?.secretKeyRef) value = keyOf(dataOf('Secret', ref.secretKeyRef.name), ref.secretKeyRef.key, `Secret ${ref.secretKeyRef.name}`, name);
      else if (ref?.fieldRef) {
        podFields.push(variable.name);
        value = `$(${variable.name})`; // known only in the pod; the local plan gives it a value
      } else value = variable.value ?? '';
      // The kubelet expands $(NAME) of variables defined earlier in the list; $$ is a literal $.
      env[variable.name] = ref?.fieldRef ? value : value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, ref2: string | undefined) =>
        whole === '$$' ? '$' : ref2 !== undefined && env[ref2] !== undefined && !podFields.includes(ref2) ? env[ref2]! : whole);
    }
    const volumes = new Map(((pod?.volumes ?? []) as Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>).map((v) => [v.name, v]));
    const mounts: Mount[] = [];
    for (const mount of (container.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>) {
      const volume = volumes.get(mount.name);
      if (volume?.configMap) mounts.push({ target: mount.mountPath, files: dataOf('ConfigMap', volume.configMap.name) });
      else if (volume?.secret) mounts.push({ target: mount.mountPath, files: dataOf('Secret', volume.secret.secretName) });
    }
    const containerPorts = new Map(((container.ports ?? []) as Array<{ name?: string; containerPort: number }>).map((p) => [p.name ?? String(p.containerPort), p.containerPort]));
    const listening = listeningPorts(args, env);
    for (const port of containerPorts.values()) {
      if (!listening.includes(port)) throw new Error(`Deployment ${name}: declares containerPort ${port}, but its command listens on ${listening.join(', ') || 'no port'}`);
    }
    const labels = deployment.spec?.template?.metadata?.labels ?? {};
    const addresses: Workload['addresses'] = [];
    for (const service of byKind('Service')) {
      const selector = (service.spec?.selector ?? {}) as Record<string, string>;
      if (Object.keys(selector).length === 0 || !Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
      for (const p of (service.spec?.ports ?? []) as Array<{ port: number; targetPort?: number | string }>) {
        const target = p.targetPort === undefined ? p.port : typeof p.targetPort === 'number' ? p.targetPort : containerPorts.get(p.targetPort);
        if (target === undefined) throw new Error(`Service ${service.metadata.name}: targetPort ${p.targetPort} is no port of Deployment ${name}`);
        addresses.push({ host: service.metadata.name, port: p.port, containerPort: target });
      }
    }
    workloads.push({ name, args, env, podFields, mounts, addresses });
  }
  return workloads;
}

function keyOf(data: Record<string, string>, key: string, what: string, deployment: string): string {
  const v = data[key];
  if (v === undefined) throw new Error(`Deployment ${deployment}: ${what} has no key ${key}`);
  return v;
}

/** `streamloop:0.1.0` matches `streamloop:0.1.0` and `registry.example.com/streamloop:0.1.0`. */
export function imageMatches(reference: string, imageName: string | undefined): boolean {
  if (!imageName) return false;
  const [repo] = imageName.split(':');
  return reference === imageName || reference.endsWith(`/${imageName}`) || reference.split(':')[0]!.split('/').pop() === repo;
}
