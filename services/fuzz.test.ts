/**
 * Bounded property-based fuzz of the ingest core and the ETL line parser with a fixed seed, so CI
 * is repeatable; `npm run fuzz` runs the same properties longer (and with other seeds).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ingestCoreProperty, lineParserProperty, objectReaderProperty } from './testing/fuzz-properties.ts';

const SEED = 20261201;

describe('fuzz (fixed seed)', () => {
  it('ingest core: never throws; refuses with a code or accepts/rejects each event, and what it accepts the ETL loads', () => {
    fc.assert(ingestCoreProperty, { seed: SEED, numRuns: 1500 });
  });

  it('ETL line parser: never throws; a row, or errors with a path, rule and message', () => {
    fc.assert(lineParserProperty, { seed: SEED, numRuns: 1500 });
  });

  it('lake object reader: never throws on any bytes, numbers lines, stops at its caps with a reason', async () => {
    await fc.assert(objectReaderProperty, { seed: SEED, numRuns: 300 });
  });
});
