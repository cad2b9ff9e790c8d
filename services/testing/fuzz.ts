/**
 * `npm run fuzz -- [--runs N] [--seed S]`: the fuzz properties of services/fuzz.test.ts, longer.
 * Default 50,000 runs per property with a fresh seed (printed, so a failure can be replayed with
 * `--seed`); fast-check shrinks a failing input to a small counterexample and prints it.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { ingestCoreProperty, lineParserProperty, objectReaderProperty } from './fuzz-properties.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } } });
const numRuns = Number(values.runs ?? 50_000);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
console.log(`fuzz: ${numRuns} runs per property, seed ${seed}`);

let failed = false;
for (const [name, property, runs] of [
  ['ingest core', ingestCoreProperty, numRuns],
  ['ETL line parser', lineParserProperty, numRuns],
  ['lake object reader', objectReaderProperty, Math.ceil(numRuns / 10)],
] as const) {
  const started = performance.now();
  const report = await fc.check(property as fc.IProperty<unknown> | fc.IAsyncProperty<unknown>, {
    seed,
    numRuns: runs,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (report.failed) {
    failed = true;
    console.log(`✗ ${name}: failed after ${report.numRuns} runs (${seconds} s)\n${fc.defaultReportMessage(report)}`);
  } else {
    console.log(`✓ ${name}: ${report.numRuns} runs in ${seconds} s`);
  }
}
process.exit(failed ? 1 : 0);
