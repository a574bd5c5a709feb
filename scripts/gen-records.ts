// Generates libs/contracts/src/records.generated.ts from schemas/*.avsc (the platform's record types).
//   node --import tsx scripts/gen-records.ts           write the file (npm run gen:records)
//   node --import tsx scripts/gen-records.ts --check   exit 1 when the committed file is stale (npm run check:records)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_RECORDS_DISPLAY, GENERATED_RECORDS_FILE, generateRecordTypes, staleness } from '../libs/contracts/src/generator';

const generated = generateRecordTypes();
const committed = existsSync(GENERATED_RECORDS_FILE) ? readFileSync(GENERATED_RECORDS_FILE, 'utf8') : '';
const why = staleness(committed, generated);

if (process.argv.includes('--check')) {
  if (why) {
    console.error(why);
    process.exit(1);
  }
  console.log(`${GENERATED_RECORDS_DISPLAY} is up to date`);
} else if (why) {
  writeFileSync(GENERATED_RECORDS_FILE, generated);
  console.log(`wrote ${GENERATED_RECORDS_DISPLAY}`);
} else {
  console.log(`${GENERATED_RECORDS_DISPLAY} is up to date`);
}
