import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSchema, type AvroType } from '@streamloop/avro';

/**
 * The generator of the platform's record types: schemas/*.avsc → TypeScript declarations of the values Streamloop's
 * serde hands to code (schemas parsed by @streamloop/avro's parseSchema, so with its logical types). Not part of the
 * library's index: only the script (scripts/gen-records.ts) and the tests load it, so importers of the types do not
 * load avsc for it.
 */

export const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));
export const GENERATED_RECORDS_FILE = fileURLToPath(new URL('./records.generated.ts', import.meta.url));
/** Paths as the header and messages show them, from the repository root. */
export const SCHEMA_DIR_DISPLAY = 'schemas';
export const GENERATED_RECORDS_DISPLAY = 'libs/contracts/src/records.generated.ts';

/** The TypeScript type of a decoded Avro value. */
export type TsType =
  | { kind: 'primitive'; name: 'string' | 'number' | 'boolean' | 'null' | 'Buffer' }
  | { kind: 'array'; items: TsType }
  | { kind: 'map'; values: TsType }
  /** An unwrapped union (avsc's default when the branches can be told apart): the value is one branch's. */
  | { kind: 'union'; branches: TsType[] }
  /** A branch of an ambiguous union, which avsc wraps: `{ [branch name]: value }`. */
  | { kind: 'wrapper'; key: string; type: TsType }
  /** A record or enum, declared on its own. */
  | { kind: 'named'; avroName: string; tsName: string };

export interface RecordField {
  name: string;
  doc?: string;
  type: TsType;
}

export interface RecordDeclaration {
  kind: 'record';
  avroName: string;
  tsName: string;
  doc?: string;
  /** The .avsc file the type is defined in. */
  file: string;
  /** False for a record defined inside another record's schema. */
  topLevel: boolean;
  fields: RecordField[];
}

export interface EnumDeclaration {
  kind: 'enum';
  avroName: string;
  tsName: string;
  /** The name of the generated `as const` array of the symbols. */
  symbolsName: string;
  doc?: string;
  file: string;
  topLevel: boolean;
  symbols: string[];
}

export type Declaration = RecordDeclaration | EnumDeclaration;

export interface SchemaSource {
  /** File name, e.g. 'alert.avsc'. */
  file: string;
  type: AvroType;
}

/**
 * How each logical type the serde registers is decoded. timestamp-millis: a number of epoch milliseconds
 * (libs/avro TimestampMillisType). A logical type avsc does not know is ignored by it: the underlying type's value.
 */
const REGISTERED_LOGICAL_TYPES: Record<string, TsType> = {
  'logical:timestamp-millis': { kind: 'primitive', name: 'number' },
};

/** The schemas of a directory, sorted by file name so the output does not depend on the file system's order. */
export function readSchemaDir(dir = SCHEMA_DIR): SchemaSource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((file) => {
      try {
        return { file, type: parseSchema(readFileSync(`${dir}/${file}`, 'utf8')) };
      } catch (error) {
        throw new Error(`${SCHEMA_DIR_DISPLAY}/${file}: ${(error as Error).message}`, { cause: error });
      }
    });
}

/** A record's TypeScript name: the Avro short name with a `Record` suffix (DeadLetter → DeadLetterRecord). */
export function recordTsName(avroName: string): string {
  const short = shortName(avroName);
  return short.endsWith('Record') ? short : `${short}Record`;
}

/** An enum's symbol array name: ModelStage → MODEL_STAGE_SYMBOLS. */
export function enumSymbolsName(avroName: string): string {
  return `${shortName(avroName).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_SYMBOLS`;
}

function shortName(avroName: string): string {
  return avroName.slice(avroName.lastIndexOf('.') + 1);
}

interface AvroField {
  name: string;
  doc?: string;
  type: AvroType;
}

/** The avsc type classes' fields the generator reads (avsc's typings do not declare them all on Type). */
interface AvroTypeParts {
  typeName: string;
  name?: string;
  doc?: string;
  branchName?: string;
  fields?: AvroField[];
  symbols?: string[];
  itemsType?: AvroType;
  valuesType?: AvroType;
  types?: AvroType[];
  underlyingType?: AvroType;
}

const parts = (type: AvroType) => type as unknown as AvroTypeParts;

/** Every named type of the schemas, each top-level record followed by the types declared inside it. */
export function describeSchemas(sources: readonly SchemaSource[]): Declaration[] {
  const declarations = new Map<string, Declaration>();
  const byTsName = new Map<string, string>();

  const declare = (declaration: Declaration): void => {
    const seen = declarations.get(declaration.avroName);
    if (seen) {
      // The same named type in two files (each file is parsed alone) must be the same type.
      if (renderDeclaration(seen) !== renderDeclaration({ ...declaration, file: seen.file, topLevel: seen.topLevel })) {
        throw new Error(`${declaration.avroName} is defined differently in ${SCHEMA_DIR_DISPLAY}/${seen.file} and ${SCHEMA_DIR_DISPLAY}/${declaration.file}`);
      }
      return;
    }
    const clash = byTsName.get(declaration.tsName);
    if (clash) throw new Error(`${clash} and ${declaration.avroName} would both be declared as ${declaration.tsName}; rename one of them`);
    byTsName.set(declaration.tsName, declaration.avroName);
    declarations.set(declaration.avroName, declaration);
  };

  for (const { file, type } of sources) {
    if (parts(type).typeName !== 'record') throw new Error(`${SCHEMA_DIR_DISPLAY}/${file}: a platform record schema must be a record, not ${parts(type).typeName}`);
    const pending: Declaration[] = [];
    const visiting = new Set<string>();
    const tsTypeOf = (t: AvroType, where: string): TsType => {
      const p = parts(t);
      const name = p.typeName;
      switch (name) {
        case 'null':
          return { kind: 'primitive', name: 'null' };
        case 'boolean':
          return { kind: 'primitive', name: 'boolean' };
        // avsc decodes a long into a number, and refuses one beyond 2^53 ("potential precision loss").
        case 'int': case 'long': case 'float': case 'double':
          return { kind: 'primitive', name: 'number' };
        case 'string':
          return { kind: 'primitive', name: 'string' };
        case 'bytes': case 'fixed':
          return { kind: 'primitive', name: 'Buffer' };
        case 'array':
          return { kind: 'array', items: tsTypeOf(p.itemsType!, `${where}[]`) };
        case 'map':
          return { kind: 'map', values: tsTypeOf(p.valuesType!, `${where}{}`) };
        case 'union:unwrapped':
          return { kind: 'union', branches: p.types!.map((b) => tsTypeOf(b, where)) };
        case 'union:wrapped':
          return {
            kind: 'union',
            branches: p.types!.map((b) => (parts(b).typeName === 'null' ? tsTypeOf(b, where) : { kind: 'wrapper', key: parts(b).branchName!, type: tsTypeOf(b, where) })),
          };
        case 'enum': {
          const avroName = p.name!;
          if (!visiting.has(avroName)) {
            visiting.add(avroName);
            pending.push({ kind: 'enum', avroName, tsName: shortName(avroName), symbolsName: enumSymbolsName(avroName), doc: p.doc, file, topLevel: false, symbols: [...p.symbols!] });
          }
          return { kind: 'named', avroName, tsName: shortName(avroName) };
        }
        case 'record': case 'error': {
          const avroName = p.name!;
          const tsName = recordTsName(avroName);
          // A recursive reference is just a name; the record is described once.
          if (!visiting.has(avroName)) {
            visiting.add(avroName);
            const declaration: RecordDeclaration = { kind: 'record', avroName, tsName, doc: p.doc, file, topLevel: false, fields: [] };
            pending.push(declaration);
            declaration.fields = p.fields!.map((f) => ({ name: f.name, doc: f.doc, type: tsTypeOf(f.type, `${where}.${f.name}`) }));
          }
          return { kind: 'named', avroName, tsName };
        }
        default: {
          const logical = REGISTERED_LOGICAL_TYPES[name];
          if (logical) return logical;
          throw new Error(`${SCHEMA_DIR_DISPLAY}/${file} at ${where}: no TypeScript mapping for Avro type ${name}; say in libs/contracts/src/generator.ts how the serde decodes it`);
        }
      }
    };
    tsTypeOf(type, parts(type).name!);
    pending[0].topLevel = true;
    for (const declaration of pending) declare(declaration);
  }
  return [...declarations.values()];
}

function renderType(type: TsType): string {
  switch (type.kind) {
    case 'primitive':
      return type.name;
    case 'named':
      return type.tsName;
    case 'array': {
      const items = renderType(type.items);
      return type.items.kind === 'union' ? `Array<${items}>` : `${items}[]`;
    }
    case 'map':
      return `Record<string, ${renderType(type.values)}>`;
    case 'wrapper':
      return `{ ${/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(type.key) ? type.key : `'${type.key}'`}: ${renderType(type.type)} }`;
    case 'union': {
      // null last reads as "T, or nothing"; the order of the others is the schema's.
      const isNull = (b: TsType) => b.kind === 'primitive' && b.name === 'null';
      return [...type.branches.filter((b) => !isNull(b)), ...type.branches.filter(isNull)].map(renderType).join(' | ');
    }
  }
}

function jsDoc(lines: string[], indent: string): string {
  const text = lines.flatMap((l) => l.split('\n')).map((l) => l.replace(/\*\//g, '*\\/').trimEnd());
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`;
  return `${indent}/**\n${text.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)).join('\n')}\n${indent} */\n`;
}

function renderDeclaration(declaration: Declaration): string {
  const origin = `Avro \`${declaration.avroName}\`${declaration.topLevel ? `, ${SCHEMA_DIR_DISPLAY}/${declaration.file}` : ` (in ${SCHEMA_DIR_DISPLAY}/${declaration.file})`}.`;
  const doc = jsDoc(declaration.doc ? [declaration.doc, '', origin] : [origin], '');
  if (declaration.kind === 'enum') {
    const symbols = declaration.symbols.map((s) => `'${s}'`).join(', ');
    return (
      `${jsDoc([`The symbols of ${declaration.tsName}, in schema order.`], '')}export const ${declaration.symbolsName} = [${symbols}] as const;\n` +
      `${doc}export type ${declaration.tsName} = (typeof ${declaration.symbolsName})[number];\n`
    );
  }
  const fields = declaration.fields.map((f) => `${f.doc ? jsDoc([f.doc], '  ') : ''}  ${f.name}: ${renderType(f.type)};\n`).join('');
  return `${doc}export interface ${declaration.tsName} {\n${fields}}\n`;
}

export const GENERATED_HEADER = [
  `// GENERATED from ${SCHEMA_DIR_DISPLAY}/*.avsc by scripts/gen-records.ts (libs/contracts/src/generator.ts). Do not edit by hand.`,
  '// Regenerate with `npm run gen:records`; `npm run check:records`, run by CI and the unit tests, fails when this file is stale.',
  "// Types are the values Streamloop's serde decodes: long and timestamp-millis are numbers (epoch milliseconds), bytes and",
  '// fixed are Buffers, maps are objects, a union with null is `T | null`, an enum is a union of its symbols.',
].join('\n');

/** The generated file's text for the given schemas. */
export function renderRecordTypes(declarations: readonly Declaration[]): string {
  return `${GENERATED_HEADER}\n\n${declarations.map(renderDeclaration).join('\n')}`;
}

/** The generated file's text for schemas/*.avsc, as `npm run gen:records` writes it. */
export function generateRecordTypes(dir = SCHEMA_DIR): string {
  return renderRecordTypes(describeSchemas(readSchemaDir(dir)));
}

/**
 * Why the committed file differs from what the schemas generate (undefined when it does not): the first line that
 * differs, and what to do.
 */
export function staleness(committed: string, generated: string): string | undefined {
  if (committed === generated) return undefined;
  const a = committed.split('\n');
  const b = generated.split('\n');
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line++;
  return [
    `${GENERATED_RECORDS_DISPLAY} is stale: it does not match ${SCHEMA_DIR_DISPLAY}/*.avsc.`,
    `  first difference at line ${line + 1}:`,
    `    committed: ${a[line] ?? '(end of file)'}`,
    `    generated: ${b[line] ?? '(end of file)'}`,
    'Run `npm run gen:records` and commit the result.',
  ].join('\n');
}
