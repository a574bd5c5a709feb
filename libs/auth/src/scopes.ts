/**
 * What a token may do. `admin` implies every other scope. `schema` writes to the built-in schema registry (register a
 * schema, change a compatibility level, delete): a producer app that registers its own event schema needs it, and it
 * is kept apart from `admin` so such a producer cannot promote or register models.
 */
export const SCOPES = ['ingest', 'predict', 'read', 'schema', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Whether a token holding `held` may use an endpoint that needs `needed`. */
export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.includes('admin') || held.includes(needed);
}
