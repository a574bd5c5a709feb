import {
  canonicalSchema, checkCompatibility, isCompatibilityLevel, parseSchema,
  type AvroType, type CompatibilityLevel,
} from '@streamloop/avro';
import { REGISTRY_DEFAULTS } from './defaults';
import { ErrorCodes, SchemaRegistryError, notFound, unprocessable } from './errors';
import {
  KafkaRegistryLog, type ConfigValue, type KafkaRegistryLogOptions, type LogRecord, type RegistryLog,
  type SchemaValue, type WatermarkValue,
} from './log';

export interface SchemaVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  deleted: boolean;
}

/** What clients POST: Confluent's body for register, lookup and compatibility checks. */
export interface SchemaRequest {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
}

export type VersionSpec = number | 'latest';

export type SchemaRegistryStoreOptions = KafkaRegistryLogOptions | { log: RegistryLog };

interface Parsed {
  text: string;
  canonical: string;
  type: AvroType;
}

/**
 * A Confluent-compatible schema registry's state and rules, independent of HTTP.
 * State is rebuilt from the log on start; every change is appended to the log first (acks=all) and applied
 * locally only once the append succeeded, so what a client was told survives a restart.
 */
export class SchemaRegistryStore {
  readonly log: RegistryLog;
  private readonly subjects = new Map<string, Map<number, SchemaVersion>>();
  private readonly byId = new Map<number, { schema: string; canonical: string }>();
  private readonly idByCanonical = new Map<string, number>();
  private readonly subjectConfig = new Map<string, CompatibilityLevel>();
  private globalConfig: CompatibilityLevel = REGISTRY_DEFAULTS.compatibility;
  private maxId = 0;
  private started = false;
  /** Writes are serialized so two registrations never take the same id or version. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(opts: SchemaRegistryStoreOptions) {
    this.log = 'log' in opts ? opts.log : new KafkaRegistryLog(opts);
  }

  async start(): Promise<void> {
    await this.log.start((r) => this.apply(r));
    this.started = true;
  }

  async close(): Promise<void> {
    await this.writes.catch(() => undefined);
    await this.log.close();
  }

  // ---- applying log records -------------------------------------------------------------------

  private apply(record: LogRecord): void {
    const { key, value } = record;
    if (key.keytype === 'ID_WATERMARK') {
      if (value) this.maxId = Math.max(this.maxId, (value as WatermarkValue).maxId);
      return;
    }
    if (key.keytype === 'CONFIG') {
      const level = (value as ConfigValue | null)?.compatibilityLevel;
      if (key.subject === null) this.globalConfig = level && isCompatibilityLevel(level) ? level : REGISTRY_DEFAULTS.compatibility;
      else if (level && isCompatibilityLevel(level)) this.subjectConfig.set(key.subject, level);
      else this.subjectConfig.delete(key.subject);
      return;
    }
    const versions = this.subjects.get(key.subject) ?? new Map<number, SchemaVersion>();
    const previous = versions.get(key.version);
    if (value === null) {
      versions.delete(key.version);
      if (versions.size === 0) this.subjects.delete(key.subject);
      else this.subjects.set(key.subject, versions);
      if (previous) this.forgetIdIfUnused(previous.id);
      return;
    }
    const v = value as SchemaValue;
    versions.set(key.version, { subject: v.subject, version: v.version, id: v.id, schema: v.schema, deleted: v.deleted });
    this.subjects.set(key.subject, versions);
    if (!this.byId.has(v.id)) {
      const canonical = canonicalSchema(parseSchema(v.schema));
      this.byId.set(v.id, { schema: v.schema, canonical });
      this.idByCanonical.set(canonical, v.id);
    }
    this.maxId = Math.max(this.maxId, v.id);
  }

  private forgetIdIfUnused(id: number): void {
    for (const versions of this.subjects.values()) for (const v of versions.values()) if (v.id === id) return;
    const entry = this.byId.get(id);
    this.byId.delete(id);
    if (entry) this.idByCanonical.delete(entry.canonical);
  }

  private async write(records: LogRecord[]): Promise<void> {
    if (!this.started) throw new SchemaRegistryError(500, ErrorCodes.STORE_ERROR, 'the schema registry store is not started');
    // A batch never ends in a tombstone: tombstones are dropped after delete.retention.ms, and a log whose last
    // offset vanished would leave the high watermark unreachable for the replay on start.
    if (records.length > 0 && records[records.length - 1].value === null) {
      records = [...records, { key: { keytype: 'ID_WATERMARK' }, value: { maxId: this.maxId } }];
    }
    try {
      await this.log.append(records);
    } catch (error) {
      throw new SchemaRegistryError(500, ErrorCodes.STORE_ERROR, `could not write to the registry log: ${(error as Error).message}`);
    }
    for (const r of records) this.apply(r);
  }

  /** Runs a read-check-write step alone, so its checks still hold when it writes. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn, fn);
    this.writes = run.catch(() => undefined);
    return run;
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private parseRequest(body: SchemaRequest | undefined): Parsed {
    if (!body || typeof body !== 'object') throw unprocessable(ErrorCodes.INVALID_SCHEMA, 'expected a JSON body with a "schema" field');
    if (body.schemaType !== undefined && body.schemaType !== null && body.schemaType !== 'AVRO') {
      throw unprocessable(ErrorCodes.INVALID_SCHEMA, `schemaType ${JSON.stringify(body.schemaType)} is not supported: this registry stores AVRO schemas only`);
    }
    if (Array.isArray(body.references) && body.references.length > 0) {
      throw unprocessable(ErrorCodes.INVALID_SCHEMA, 'schema references are not supported by this registry; inline the referenced types');
    }
    if (typeof body.schema !== 'string') throw unprocessable(ErrorCodes.INVALID_SCHEMA, 'Invalid schema: "schema" must be a string holding the Avro schema JSON');
    let type: AvroType;
    try {
      type = parseSchema(body.schema);
    } catch (error) {
      throw unprocessable(ErrorCodes.INVALID_SCHEMA, `Invalid schema: ${(error as Error).message}`);
    }
    let text = body.schema;
    try {
      text = JSON.stringify(JSON.parse(body.schema)); // compact, as Confluent serves it
    } catch {
      text = JSON.stringify(body.schema.trim());
    }
    return { text, canonical: canonicalSchema(type), type };
  }

  private versionsOf(subject: string, includeDeleted = false): SchemaVersion[] {
    const all = [...(this.subjects.get(subject)?.values() ?? [])].sort((a, b) => a.version - b.version);
    return includeDeleted ? all : all.filter((v) => !v.deleted);
  }

  private requireSubject(subject: string, includeDeleted = false): SchemaVersion[] {
    const versions = this.versionsOf(subject, includeDeleted);
    if (versions.length === 0) throw notFound(ErrorCodes.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`);
    return versions;
  }

  static parseVersion(raw: string | number): VersionSpec {
    if (raw === 'latest' || raw === -1 || raw === '-1') return 'latest';
    const n = typeof raw === 'number' ? raw : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) {
      throw unprocessable(ErrorCodes.INVALID_VERSION, `The specified version '${raw}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
    }
    return n;
  }

  private findVersion(subject: string, spec: VersionSpec, includeDeleted = false): SchemaVersion {
    const versions = this.requireSubject(subject, includeDeleted);
    const found = spec === 'latest' ? versions[versions.length - 1] : versions.find((v) => v.version === spec);
    if (!found) throw notFound(ErrorCodes.VERSION_NOT_FOUND, `Version ${spec} not found.`);
    return found;
  }

  compatibilityOf(subject: string): CompatibilityLevel {
    return this.subjectConfig.get(subject) ?? this.globalConfig;
  }

  private checkAgainst(parsed: Parsed, against: SchemaVersion[], level: CompatibilityLevel): string[] {
    const result = checkCompatibility(parsed.type, against.map((v) => parseSchema(v.schema)), level, against.map((v) => `version ${v.version}`));
    return result.messages;
  }

  // ---- operations -------------------------------------------------------------------------------

  /** POST /subjects/{subject}/versions. The same schema again returns the existing id. */
  async register(subject: string, body: SchemaRequest): Promise<{ id: number }> {
    const parsed = this.parseRequest(body);
    return this.exclusive(async () => {
      const live = this.versionsOf(subject);
      const existing = live.find((v) => this.byId.get(v.id)?.canonical === parsed.canonical);
      if (existing) return { id: existing.id };
      const level = this.compatibilityOf(subject);
      const against = level.endsWith('_TRANSITIVE') ? live : live.slice(-1);
      const messages = level === 'NONE' ? [] : this.checkAgainst(parsed, against, level);
      if (messages.length > 0) {
        throw new SchemaRegistryError(409, ErrorCodes.INCOMPATIBLE_SCHEMA,
          `Schema being registered is incompatible with an earlier schema for subject "${subject}" (compatibility ${level}), details: ${messages.join('; ')}`);
      }
      const knownId = this.idByCanonical.get(parsed.canonical);
      const id = knownId ?? this.maxId + 1;
      const all = this.versionsOf(subject, true);
      const version = (all[all.length - 1]?.version ?? 0) + 1;
      const schema = knownId ? this.byId.get(knownId)!.schema : parsed.text;
      const records: LogRecord[] = [];
      if (!knownId) records.push({ key: { keytype: 'ID_WATERMARK' }, value: { maxId: id } });
      records.push({ key: { keytype: 'SCHEMA', subject, version }, value: { subject, version, id, schema, deleted: false } });
      await this.write(records);
      return { id };
    });
  }

  /** POST /subjects/{subject}: is this schema registered under the subject? */
  lookup(subject: string, body: SchemaRequest, includeDeleted = false): SchemaVersion {
    const parsed = this.parseRequest(body);
    const versions = this.requireSubject(subject, includeDeleted);
    const found = [...versions].reverse().find((v) => this.byId.get(v.id)?.canonical === parsed.canonical);
    if (!found) throw notFound(ErrorCodes.SCHEMA_NOT_FOUND, 'Schema not found');
    return found;
  }

  getSchemaById(id: number): { schema: string } {
    const entry = this.byId.get(id);
    if (!entry) throw notFound(ErrorCodes.SCHEMA_NOT_FOUND, `Schema ${id} not found`);
    return { schema: entry.schema };
  }

  /** GET /schemas/ids/{id}/versions: where an id is used. */
  getVersionsById(id: number): Array<{ subject: string; version: number }> {
    this.getSchemaById(id);
    const out: Array<{ subject: string; version: number }> = [];
    for (const [subject, versions] of this.subjects) for (const v of versions.values()) if (v.id === id && !v.deleted) out.push({ subject, version: v.version });
    return out.sort((a, b) => a.subject.localeCompare(b.subject) || a.version - b.version);
  }

  listSubjects(includeDeleted = false): string[] {
    return [...this.subjects.keys()].filter((s) => this.versionsOf(s, includeDeleted).length > 0).sort();
  }

  listVersions(subject: string, includeDeleted = false): number[] {
    return this.requireSubject(subject, includeDeleted).map((v) => v.version);
  }

  getVersion(subject: string, version: VersionSpec, includeDeleted = false): SchemaVersion {
    return this.findVersion(subject, version, includeDeleted);
  }

  /** DELETE /subjects/{s}/versions/{v}: soft delete, or hard delete (permanent) of a soft-deleted version. */
  deleteVersion(subject: string, version: VersionSpec, permanent = false): Promise<number> {
    return this.exclusive(async () => {
      // A soft delete of "latest" means the newest live version; otherwise soft-deleted versions count too.
      const target = this.findVersion(subject, version, permanent || version !== 'latest');
      if (permanent) {
        if (!target.deleted) {
          throw notFound(ErrorCodes.SCHEMA_VERSION_NOT_SOFT_DELETED, `Subject '${subject}' Version ${target.version} was not deleted first before being permanently deleted`);
        }
        await this.write([{ key: { keytype: 'SCHEMA', subject, version: target.version }, value: null }]);
        return target.version;
      }
      if (target.deleted) {
        throw notFound(ErrorCodes.SCHEMA_VERSION_SOFT_DELETED, `Subject '${subject}' Version ${target.version} was soft deleted. Set permanent=true to delete permanently`);
      }
      return this.softDelete([target]);
    });
  }

  private async softDelete(versions: SchemaVersion[]): Promise<number> {
    await this.write(versions.map((v) => ({ key: { keytype: 'SCHEMA' as const, subject: v.subject, version: v.version }, value: { ...v, deleted: true } })));
    return versions[versions.length - 1].version;
  }

  /** DELETE /subjects/{s}: soft delete all versions; permanent=true then removes them (and the subject's config). */
  deleteSubject(subject: string, permanent = false): Promise<number[]> {
    return this.exclusive(async () => {
      const all = this.requireSubject(subject, true);
      const live = all.filter((v) => !v.deleted);
      if (permanent) {
        if (live.length > 0) throw notFound(ErrorCodes.SUBJECT_NOT_SOFT_DELETED, `Subject '${subject}' was not deleted first before being permanently deleted`);
        const records: LogRecord[] = all.map((v) => ({ key: { keytype: 'SCHEMA', subject, version: v.version }, value: null }));
        if (this.subjectConfig.has(subject)) records.push({ key: { keytype: 'CONFIG', subject }, value: null });
        await this.write(records);
        return all.map((v) => v.version);
      }
      if (live.length === 0) throw notFound(ErrorCodes.SUBJECT_SOFT_DELETED, `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`);
      await this.softDelete(live);
      return live.map((v) => v.version);
    });
  }

  /** GET /config or /config/{subject}. A subject without its own level is 40408 unless defaultToGlobal. */
  getConfig(subject?: string, defaultToGlobal = false): { compatibilityLevel: CompatibilityLevel } {
    if (subject === undefined) return { compatibilityLevel: this.globalConfig };
    const level = this.subjectConfig.get(subject);
    if (level) return { compatibilityLevel: level };
    if (defaultToGlobal) return { compatibilityLevel: this.globalConfig };
    throw notFound(ErrorCodes.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED, `Subject '${subject}' does not have subject-level compatibility configured`);
  }

  /** PUT /config or /config/{subject} with { compatibility }. */
  async setConfig(subject: string | undefined, body: { compatibility?: unknown } | undefined): Promise<{ compatibility: CompatibilityLevel }> {
    const raw = body?.compatibility;
    const level = typeof raw === 'string' ? raw.toUpperCase() : raw;
    if (!isCompatibilityLevel(level)) {
      throw unprocessable(ErrorCodes.INVALID_COMPATIBILITY_LEVEL,
        `Invalid compatibility level ${JSON.stringify(raw)}. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive`);
    }
    return this.exclusive(async () => {
      await this.write([{ key: { keytype: 'CONFIG', subject: subject ?? null }, value: { compatibilityLevel: level } }]);
      return { compatibility: level };
    });
  }

  /** DELETE /config/{subject} (back to the global level) or DELETE /config (global back to BACKWARD). */
  deleteConfig(subject?: string): Promise<{ compatibilityLevel: CompatibilityLevel }> {
    return this.exclusive(async () => {
      if (subject === undefined) {
        const previous = this.globalConfig;
        await this.write([{ key: { keytype: 'CONFIG', subject: null }, value: null }]);
        return { compatibilityLevel: previous };
      }
      const previous = this.subjectConfig.get(subject);
      if (!previous) {
        if (this.versionsOf(subject, true).length === 0) throw notFound(ErrorCodes.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`);
        throw notFound(ErrorCodes.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED, `Subject '${subject}' does not have subject-level compatibility configured`);
      }
      await this.write([{ key: { keytype: 'CONFIG', subject }, value: null }]);
      return { compatibilityLevel: previous };
    });
  }

  /**
   * POST /compatibility/subjects/{s}/versions/{v}: against one version (the level's direction, not its
   * transitivity); without a version, against what registration would check. A subject with no versions
   * accepts anything for "latest", as Confluent does.
   */
  testCompatibility(subject: string, version: VersionSpec | undefined, body: SchemaRequest): { is_compatible: boolean; messages: string[] } {
    const parsed = this.parseRequest(body);
    const level = this.compatibilityOf(subject);
    let against: SchemaVersion[];
    if (version === undefined) {
      const live = this.versionsOf(subject);
      against = level.endsWith('_TRANSITIVE') ? live : live.slice(-1);
    } else if (version === 'latest' && this.versionsOf(subject).length === 0) {
      against = [];
    } else {
      against = [this.findVersion(subject, version)];
    }
    const messages = level === 'NONE' || against.length === 0 ? [] : this.checkAgainst(parsed, against, level);
    return { is_compatible: messages.length === 0, messages };
  }
}
