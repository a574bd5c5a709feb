import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { listeningPorts } from './targets';
import type { ImageConfig, Mount, Workload } from './workload';

/**
 * Compose's variable interpolation of one value: `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}` (unset or
 * empty / unset), `${VAR:?message}` / `${VAR?message}` (an error naming the variable), `$$` for a literal `$`.
 */
export function interpolate(value: string, env: Record<string, string | undefined>, where = 'compose'): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])((?:[^}])*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, colon: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      const name = braced ?? bare!;
      const v = env[name];
      const missing = colon ? v === undefined || v === '' : v === undefined;
      if (op === '-') return missing ? interpolate(arg ?? '', env, where) : v!;
      if (op === '?') {
        if (missing) throw new Error(`${where}: required variable ${name} is not set${arg ? `: ${arg}` : ''}`);
        return v!;
      }
      return v ?? '';
    });
}

type ComposeService = {
  image?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
};

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** The compose file with its YAML merge keys applied and every string interpolated from `env` (a .env file's values). */
export function parseCompose(text: string, env: Record<string, string | undefined>, file = 'compose.yaml'): ComposeFile {
  const raw = parseYaml(text, { merge: true }) as unknown;
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') return interpolate(v, env, `${file} ${path}`);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, path ? `${path}.${k}` : k)]));
    return v;
  };
  const compose = walk(raw, '') as Partial<ComposeFile>;
  if (!compose.services || typeof compose.services !== 'object') throw new Error(`${file}: no services`);
  return compose as ComposeFile;
}

/** Reads a .env file (NAME=value lines, # comments, optional quotes). */
export function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    const v = m[2]!;
    env[m[1]!] = /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v.replace(/\s+#.*$/, '');
  }
  return env;
}

/**
 * Every service of the compose file that runs the image (its `image:` is `image.name`), as the container would start:
 * the image's ENV under the service's `environment`, its `command` (or the image's CMD) after the ENTRYPOINT, its bind
 * mounts (sources relative to the compose file's folder) and its address, the service name, on its listening ports.
 */
export function composeWorkloads(compose: ComposeFile, image: ImageConfig, composeDir: string): Workload[] {
  const workloads: Workload[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (!image.name || service.image !== image.name) continue;
    if (service.entrypoint !== undefined) throw new Error(`compose service ${name}: overrides the image's ENTRYPOINT; set command instead`);
    const command = service.command === undefined ? image.cmd : Array.isArray(service.command) ? service.command : service.command.split(/\s+/).filter(Boolean);
    const env = { ...image.env, ...composeEnvironment(name, service.environment) };
    const mounts: Mount[] = [];
    for (const volume of service.volumes ?? []) {
      const [source, target] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
      if (!source || !target) throw new Error(`compose service ${name}: volume ${JSON.stringify(volume)} has no source and target`);
      // A named volume (no path) is storage, not files the workload reads from the repository.
      if (!source.startsWith('.') && !isAbsolute(source)) continue;
      mounts.push({ target, source: resolve(composeDir, source) });
    }
    const ports = listeningPorts(command, env);
    workloads.push({ name, args: command, env, podFields: [], mounts, addresses: ports.map((port) => ({ host: name, port, containerPort: port })) });
  }
  return workloads;
}

function composeEnvironment(service: string, environment: ComposeService['environment']): Record<string, string> {
  if (!environment) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => {
      const i = entry.indexOf('=');
      if (i < 0) throw new Error(`compose service ${service}: environment entry "${entry}" takes its value from the host; give it one`);
      return [entry.slice(0, i), entry.slice(i + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(environment).map(([k, v]) => {
    if (v === null) throw new Error(`compose service ${service}: environment ${k} has no value`);
    return [k, String(v)];
  }));
}
