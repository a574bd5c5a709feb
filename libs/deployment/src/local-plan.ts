import { join } from 'node:path';
import { listeningPorts } from './targets';
import type { Workload } from './workload';

/** One workload as a local process: `node bin/streamloop.mjs <args>` with this environment, after writing `files`. */
export interface LocalProcess {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** Files of ConfigMap and Secret mounts, written before the process starts. */
  files: Array<{ path: string; content: string }>;
  /** The local ports it listens on, by the port it listens on in the container. */
  ports: Record<number, number>;
}

export interface LocalPlanOptions {
  /** The local broker, for every KAFKA_BROKERS. */
  brokers: string;
  /** host:port of the local ClickHouse HTTP endpoint, for the host of every CLICKHOUSE_URL (its user and password kept). */
  clickhouse: string;
  /** The repository: what the image copies to its WORKDIR. */
  repoRoot: string;
  imageWorkdir: string;
  /** Where mounted files and data directories go. */
  tempDir: string;
  /** A free local port for each container port of each workload. */
  freePort: () => number;
}

/**
 * Each workload as a process on this machine with exactly the environment the manifest gives it, only its addresses
 * made local: brokers and ClickHouse to the local ones, every other workload's address (service name and port) to
 * that process's local port, its own ports to free ones, container paths (mounts, the image's WORKDIR) to local ones.
 * An address that no workload answers is an error, as it would be in the cluster.
 */
export function planLocalProcesses(workloads: Workload[], options: LocalPlanOptions): LocalProcess[] {
  const local = new Map<string, Record<number, number>>();
  for (const w of workloads) local.set(w.name, Object.fromEntries(listeningPorts(w.args, w.env).map((p) => [p, options.freePort()])));
  const addresses = new Map<string, string>();
  for (const w of workloads) {
    for (const a of w.addresses) {
      const port = local.get(w.name)![a.containerPort];
      if (port === undefined) throw new Error(`${w.name}: address ${a.host}:${a.port} goes to port ${a.containerPort}, on which it does not listen`);
      addresses.set(`${a.host}:${a.port}`, `127.0.0.1:${port}`);
    }
  }
  return workloads.map((w) => {
    const ports = local.get(w.name)!;
    const own = (host: string, port: number) => (['127.0.0.1', 'localhost', '0.0.0.0'].includes(host) ? ports[port] : undefined);
    const files: LocalProcess['files'] = [];
    const mountDirs = w.mounts.map((m) => {
      if (m.source !== undefined) return { target: m.target, dir: m.source };
      // Under a root of its own at the container's path, so a relative path between mounts (a spec's ../schemas) holds.
      const dir = join(options.tempDir, w.name, 'root', m.target);
      for (const [file, content] of Object.entries(m.files)) files.push({ path: join(dir, file), content });
      return { target: m.target, dir };
    });
    const localPath = (value: string) => {
      const mount = mountDirs.find((m) => value === m.target || value.startsWith(`${m.target.replace(/\/$/, '')}/`));
      if (mount) return mount.dir + value.slice(mount.target.replace(/\/$/, '').length);
      const workdir = options.imageWorkdir.replace(/\/$/, '');
      if (value.startsWith(`${workdir}/`)) return options.repoRoot + value.slice(workdir.length);
      return value;
    };
    const mapAddress = (name: string, hostPort: string) => {
      const [host, portText] = hostPort.split(':');
      const mine = own(host!, Number(portText));
      if (mine !== undefined) return `127.0.0.1:${mine}`;
      const mapped = addresses.get(hostPort);
      if (!mapped) throw new Error(`${w.name}: ${name} points at ${hostPort}, which no workload of the manifest answers${[...addresses.keys()].length ? ` (they answer at ${[...addresses.keys()].join(', ')})` : ''}`);
      return mapped;
    };
    const env: Record<string, string> = {};
    for (const [name, raw] of Object.entries(w.env)) {
      const value = raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, f: string) => (w.podFields.includes(f) ? '127.0.0.1' : whole));
      if (w.podFields.includes(name)) continue;
      switch (name) {
        case 'KAFKA_BROKERS': env[name] = options.brokers; break;
        case 'CLICKHOUSE_URL': {
          const url = new URL(value);
          url.host = options.clickhouse;
          env[name] = url.toString().replace(/\/$/, '');
          break;
        }
        case 'PORT': case 'SCHEMA_REGISTRY_PORT': {
          const port = ports[Number(value)];
          // A port the process does not listen on (PORT of a registry-only process) is kept: it is not used.
          env[name] = port === undefined ? value : String(port);
          break;
        }
        case 'HOST': case 'SCHEMA_REGISTRY_HOST': case 'CLICKHOUSE_HTTP_HOST': env[name] = '127.0.0.1'; break;
        case 'CLICKHOUSE_DATA_DIR': env[name] = join(options.tempDir, w.name, 'chdb'); break;
        default:
          if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
            const url = new URL(value);
            url.host = mapAddress(name, `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`);
            env[name] = value.endsWith('/') ? url.toString() : url.toString().replace(/\/$/, '');
          } else env[name] = value.split(',').map(localPath).join(',');
      }
    }
    return { name: w.name, args: w.args, env, files, ports };
  });
}
