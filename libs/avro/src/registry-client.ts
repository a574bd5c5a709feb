import type { Type } from 'avsc';
import avro from 'avsc';
import { RegistryError, RegistryUnavailableError } from './errors';
import { schemaText } from './schema';

export interface RegisteredSchema {
  id: number;
  version: number;
  subject: string;
  schema: string;
}

/** The part of a Confluent-compatible schema registry that serializers need. */
export interface RegistryClient {
  /** Registers (or finds) the schema under the subject; returns its global id. */
  register(subject: string, schema: string | object | Type): Promise<number>;
  /** The schema text for an id. */
  getSchemaById(id: number): Promise<string>;
  /** The newest version under a subject. */
  getLatest(subject: string): Promise<RegisteredSchema>;
}

export interface HttpRegistryClientOptions {
  /** Per request, default 10 s. */
  timeoutMs?: number;
  /** e.g. { authorization: 'Basic ...' } for a hosted registry. */
  headers?: Record<string, string>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

function toSchemaText(schema: string | object | Type): string {
  if (typeof schema === 'string') return schema;
  return avro.Type.isType(schema) ? schemaText(schema as Type) : JSON.stringify(schema);
}

/** Confluent REST API over fetch. Works against Confluent, Karapace, Apicurio (ccompat) and Streamloop's own. */
export class HttpRegistryClient implements RegistryClient {
  private readonly base: string;
  private readonly byId = new Map<number, Promise<string>>();

  constructor(url: string, private readonly opts: HttpRegistryClientOptions = {}) {
    if (!url) throw new Error('HttpRegistryClient needs the registry URL (SCHEMA_REGISTRY_URL)');
    this.base = url.replace(/\/+$/, '');
  }

  async register(subject: string, schema: string | object | Type): Promise<number> {
    const body = await this.request<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: toSchemaText(schema) });
    return body.id;
  }

  getSchemaById(id: number): Promise<string> {
    let cached = this.byId.get(id);
    if (!cached) {
      cached = this.request<{ schema: string; schemaType?: string }>('GET', `/schemas/ids/${id}`).then((r) => {
        if (r.schemaType && r.schemaType !== 'AVRO') throw new RegistryError(422, 42201, `schema id ${id} is ${r.schemaType}, not AVRO`);
        return r.schema;
      });
      // A failure is not remembered: the next record retries (the registry may be back).
      cached.catch(() => this.byId.delete(id));
      this.byId.set(id, cached);
    }
    return cached;
  }

  async getLatest(subject: string): Promise<RegisteredSchema> {
    return this.request<RegisteredSchema>('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }), ...this.opts.headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new RegistryUnavailableError(`schema registry ${this.base} unreachable (${method} ${path}): ${(error as Error).message}`, { cause: error });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok && json !== undefined) return json as T;
    const err = json as { error_code?: number; message?: string } | undefined;
    const message = `schema registry ${method} ${path} answered ${res.status}: ${err?.message ?? (text.slice(0, 200) || res.statusText)}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new RegistryUnavailableError(message);
    throw new RegistryError(res.status, err?.error_code ?? res.status, message);
  }
}
