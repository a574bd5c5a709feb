/**
 * The targets `streamloop start --target` knows are the CLI's (apps/cli SERVICE_TARGETS); a library cannot import an
 * app, so the checks take the list as an argument. This file knows only what a command line looks like.
 */
export function targetsOf(args: readonly string[]): string[] | undefined {
  if (args[0] !== 'start') return undefined;
  const i = args.findIndex((a) => a === '--target' || a === '-t' || a.startsWith('--target='));
  if (i < 0) return ['all'];
  const value = args[i]!.startsWith('--target=') ? args[i]!.slice('--target='.length) : args[i + 1];
  return value === undefined ? [] : value.split(',').map((t) => t.trim()).filter(Boolean);
}

/** The ports a `streamloop start` command listens on with this environment: the services' PORT, the registry's port. */
export function listeningPorts(args: readonly string[], env: Record<string, string>): number[] {
  const targets = targetsOf(args) ?? [];
  const all = targets.includes('all');
  const ports: number[] = [];
  const portFlag = args.findIndex((a) => a === '--port' || a === '-p');
  const servicesPort = portFlag >= 0 ? Number(args[portFlag + 1]) : Number(env.PORT ?? 8080);
  if (all || targets.some((t) => t !== 'schema-registry')) ports.push(servicesPort);
  if (all || targets.includes('schema-registry')) ports.push(Number(env.SCHEMA_REGISTRY_PORT ?? 8081));
  return ports;
}
