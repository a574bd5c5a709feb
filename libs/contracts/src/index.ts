// The platform's record types, generated from schemas/*.avsc (npm run gen:records). The generator itself
// (./generator) is not exported: it is for the script and the tests.
export * from './records.generated';
