import { RequiresScope } from '@streamloop/auth';
import { Body, Controller, Delete, Get, Header, HttpCode, Inject, Param, Post, Put, Query, UseFilters } from '@nestjs/common';
import { ErrorCodes, SchemaRegistryError, SchemaRegistryStore, type SchemaRequest, type SchemaVersion } from '@streamloop/registry';
import { RegistryErrorFilter } from './error.filter';
import { REGISTRY_CONTENT_TYPE, SCHEMA_REGISTRY_STORE } from './tokens';

const flag = (v: string | undefined) => v === 'true' || v === '1';

/** Confluent's shape of a subject version (no internal fields). */
const view = (v: SchemaVersion) => ({ subject: v.subject, version: v.version, id: v.id, schema: v.schema });

function schemaId(raw: string): number {
  const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw new SchemaRegistryError(404, ErrorCodes.SCHEMA_NOT_FOUND, `Schema ${raw} not found`);
  return id;
}

/** The Confluent Schema Registry REST API (AVRO), mapped onto SchemaRegistryStore. */
@Controller()
@UseFilters(RegistryErrorFilter)
export class SchemaRegistryController {
  constructor(@Inject(SCHEMA_REGISTRY_STORE) private readonly store: SchemaRegistryStore) {}

  @Get()
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  root(): object {
    return {};
  }

  @Get('schemas/types')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  types(): string[] {
    return ['AVRO'];
  }

  @Get('schemas/ids/:id')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  schemaById(@Param('id') id: string): object {
    return this.store.getSchemaById(schemaId(id));
  }

  @Get('schemas/ids/:id/schema')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  rawSchemaById(@Param('id') id: string): string {
    return this.store.getSchemaById(schemaId(id)).schema;
  }

  @Get('schemas/ids/:id/versions')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  versionsById(@Param('id') id: string): object {
    return this.store.getVersionsById(schemaId(id));
  }

  @Get('schemas/ids/:id/subjects')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  subjectsById(@Param('id') id: string): string[] {
    return [...new Set(this.store.getVersionsById(schemaId(id)).map((v) => v.subject))];
  }

  @Get('subjects')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  subjects(@Query('deleted') deleted?: string): string[] {
    return this.store.listSubjects(flag(deleted));
  }

  @Post('subjects/:subject')
  @RequiresScope('read', 'schema')
  @HttpCode(200)
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  lookup(@Param('subject') subject: string, @Body() body: SchemaRequest, @Query('deleted') deleted?: string): object {
    return view(this.store.lookup(subject, body, flag(deleted)));
  }

  @Delete('subjects/:subject')
  @RequiresScope('schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  deleteSubject(@Param('subject') subject: string, @Query('permanent') permanent?: string): Promise<number[]> {
    return this.store.deleteSubject(subject, flag(permanent));
  }

  @Get('subjects/:subject/versions')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  versions(@Param('subject') subject: string, @Query('deleted') deleted?: string): number[] {
    return this.store.listVersions(subject, flag(deleted));
  }

  @Post('subjects/:subject/versions')
  @RequiresScope('schema')
  @HttpCode(200)
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  register(@Param('subject') subject: string, @Body() body: SchemaRequest): Promise<{ id: number }> {
    return this.store.register(subject, body);
  }

  @Get('subjects/:subject/versions/:version')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  version(@Param('subject') subject: string, @Param('version') version: string, @Query('deleted') deleted?: string): object {
    return view(this.store.getVersion(subject, SchemaRegistryStore.parseVersion(version), flag(deleted)));
  }

  @Get('subjects/:subject/versions/:version/schema')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  versionSchema(@Param('subject') subject: string, @Param('version') version: string): string {
    return this.store.getVersion(subject, SchemaRegistryStore.parseVersion(version)).schema;
  }

  @Delete('subjects/:subject/versions/:version')
  @RequiresScope('schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  deleteVersion(@Param('subject') subject: string, @Param('version') version: string, @Query('permanent') permanent?: string): Promise<number> {
    return this.store.deleteVersion(subject, SchemaRegistryStore.parseVersion(version), flag(permanent));
  }

  @Post('compatibility/subjects/:subject/versions/:version')
  @RequiresScope('read', 'schema')
  @HttpCode(200)
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  compatibleWith(@Param('subject') subject: string, @Param('version') version: string, @Body() body: SchemaRequest, @Query('verbose') verbose?: string): object {
    return this.compatibility(subject, SchemaRegistryStore.parseVersion(version), body, flag(verbose));
  }

  @Post('compatibility/subjects/:subject/versions')
  @RequiresScope('read', 'schema')
  @HttpCode(200)
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  compatibleWithAll(@Param('subject') subject: string, @Body() body: SchemaRequest, @Query('verbose') verbose?: string): object {
    return this.compatibility(subject, undefined, body, flag(verbose));
  }

  private compatibility(subject: string, version: number | 'latest' | undefined, body: SchemaRequest, verbose: boolean): object {
    const r = this.store.testCompatibility(subject, version, body);
    return verbose ? { is_compatible: r.is_compatible, messages: r.messages } : { is_compatible: r.is_compatible };
  }

  @Get('config')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  globalConfig(): object {
    return this.store.getConfig();
  }

  @Put('config')
  @RequiresScope('schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  setGlobalConfig(@Body() body: { compatibility?: unknown }): Promise<object> {
    return this.store.setConfig(undefined, body);
  }

  @Delete('config')
  @RequiresScope('schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  deleteGlobalConfig(): Promise<object> {
    return this.store.deleteConfig();
  }

  @Get('config/:subject')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  subjectConfig(@Param('subject') subject: string, @Query('defaultToGlobal') defaultToGlobal?: string): object {
    return this.store.getConfig(subject, flag(defaultToGlobal));
  }

  @Put('config/:subject')
  @RequiresScope('schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  setSubjectConfig(@Param('subject') subject: string, @Body() body: { compatibility?: unknown }): Promise<object> {
    return this.store.setConfig(subject, body);
  }

  @Delete('config/:subject')
  @RequiresScope('schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  deleteSubjectConfig(@Param('subject') subject: string): Promise<object> {
    return this.store.deleteConfig(subject);
  }

  // Clients (e.g. schema linking tools) ask for the mode; this registry is always read-write.
  @Get('mode')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  mode(): object {
    return { mode: 'READWRITE' };
  }

  @Get('mode/:subject')
  @RequiresScope('read', 'schema')
  @Header('Content-Type', REGISTRY_CONTENT_TYPE)
  subjectMode(): object {
    return { mode: 'READWRITE' };
  }
}
