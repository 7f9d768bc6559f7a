/** Prints a schema variant's SQL (for the shell experiments): `npx tsx bench/experiments/print-schema.ts setbased`. */
import { realSchema, setBasedSchema } from './schemaVariants.js';

const variant = process.argv[2] ?? 'real';
process.stdout.write(variant === 'setbased' ? setBasedSchema('event_store') : realSchema('event_store'));
