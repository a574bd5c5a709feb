import nx from '@nx/eslint-plugin';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Source files of the product (not tests, benches or scripts): the type-aware rules run on these. */
const SOURCES = ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts', 'apps/*/src/**/*.ts'];
const NOT_SOURCES = ['**/*.test.ts', '**/*.bench.ts', '**/test-support.ts'];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', 'bin/**', 'scripts/**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx, 'import-x': importX },
    // Relative imports name .ts files without their extension; @streamloop/* paths cross projects (Nx's rule above).
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.js', '.json'] })],
      // The imported .ts files are parsed to follow their imports on (no-cycle walks the graph).
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.mjs', '.js'],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Cycles inside a project (between projects, enforce-module-boundaries refuses them).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // Structure. A service is wiring around libraries: it never imports another service, nor test helpers.
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'], notDependOnLibsWithTags: ['scope:testing'] },
            // Libraries never reach up into services.
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            // The CLI, tests and benches compose services.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:service'] },
            // Scope. Errors depend on nothing; the settings and spec only on errors.
            { sourceTag: 'scope:base', onlyDependOnLibsWithTags: [] },
            // The settings take each library's documented defaults from its small `/defaults` entry point (the rule
            // below keeps config to those), so the settings schema never repeats a literal.
            { sourceTag: 'scope:config', onlyDependOnLibsWithTags: ['scope:base', 'scope:io', 'scope:platform'] },
            // The record types generated from schemas/*.avsc (the generator parses them with libs/avro).
            { sourceTag: 'scope:contract', onlyDependOnLibsWithTags: ['scope:io', 'scope:config', 'scope:base'] },
            // Compute libraries are pure: no Kafka, Avro, HTTP, stream or runtime. drift-sql computes inside
            // ClickHouse by design, so the ClickHouse client is the one I/O library they may use. They may name the
            // platform's record types (contracts: generated interfaces, no code), e.g. the feature stage's vectors.
            { sourceTag: 'scope:compute', onlyDependOnLibsWithTags: ['scope:compute', 'scope:contract', 'scope:config', 'scope:base', 'engine:clickhouse'] },
            // I/O adapters (Kafka, Avro, ClickHouse, the schema registry) know nothing of the platform above them.
            { sourceTag: 'scope:io', onlyDependOnLibsWithTags: ['scope:io', 'scope:contract', 'scope:config', 'scope:base'] },
            { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['scope:platform', 'scope:io', 'scope:contract', 'scope:compute', 'scope:config', 'scope:base'] },
            { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:testing', 'scope:compute', 'scope:io', 'scope:contract', 'scope:platform', 'scope:config', 'scope:base'] },
          ],
        },
      ],
    },
  },
  {
    // kafkajs stays behind libs/kafka (createKafka is the one place a client is made), so it can be replaced there.
    files: SOURCES,
    ignores: ['libs/kafka/**', ...NOT_SOURCES],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', message: 'Use @streamloop/kafka: kafkajs is imported only by libs/kafka.', allowTypeImports: false }] }],
    },
  },
  {
    files: ['libs/config/src/**/*.ts'],
    ignores: NOT_SOURCES,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: '^@streamloop/((?!errors$)[^/]+|[^/]+/(?!defaults$).*)$', message: 'libs/config reads only the /defaults entry points of other libraries (and @streamloop/errors).' }],
      }],
    },
  },
  {
    // A promise nobody awaits loses its error (an unhandled rejection ends the process) and its ordering.
    files: SOURCES,
    ignores: NOT_SOURCES,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
];
