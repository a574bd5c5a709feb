/** A file or folder a workload sees at `target`: a host path (compose bind mount) or files written from a ConfigMap/Secret. */
export type Mount =
  | { target: string; source: string; files?: undefined }
  | { target: string; files: Record<string, string>; source?: undefined };

/**
 * One Streamloop container as a manifest declares it: the argv after the image's ENTRYPOINT (`start --target …`),
 * the whole environment it gets (the image's ENV under the manifest's), what it mounts and the address it answers at.
 */
export interface Workload {
  /** The compose service or the Kubernetes Deployment. */
  name: string;
  /** The arguments to bin/streamloop.mjs, e.g. ['start', '--target', 'ingestion']. */
  args: string[];
  env: Record<string, string>;
  /** Variables Kubernetes fills from the pod (fieldRef), usable by others as $(NAME): not settings of the platform. */
  podFields: string[];
  mounts: Mount[];
  /** The names other containers reach this one by (compose service, Kubernetes Services), with the port each maps to. */
  addresses: Array<{ host: string; port: number; containerPort: number }>;
}

/** The final stage of the Dockerfile: what every container of the image starts with. */
export interface ImageConfig {
  workdir: string;
  user?: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck?: string[];
  /** Image references a manifest uses for it (compose `image:`, Kubernetes `image:` without the registry). */
  name?: string;
}
