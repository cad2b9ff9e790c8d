/**
 * The generated validators (a shared envelope module + one `properties` module per event) against
 * runtime ajv compiling each model's whole wire schema: for every fixture and every mutation of it
 * below, the same verdict and the same error objects in the same order (path, rule, params,
 * message, schemaPath). This is what keeps ingest's rejections unchanged by the code layout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatorFor } from '../generated/validators/index.ts';
import { createSchemaAjv } from './ajv.ts';
import { loadRegistry } from './load.ts';
import type { Registry } from './registry.ts';
import { wireSchema } from './wire.ts';

const SCHEMAS = path.resolve(import.meta.dirname, '..', 'schemas');
const events = readdirSync(path.join(SCHEMAS, 'events')).sort();

type Json = unknown;

function fixtures(event: string): Json[] {
  return (['valid', 'invalid'] as const).flatMap((kind) => {
    const dir = path.join(SCHEMAS, 'events', event, 'fixtures', kind);
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Json);
  });
}

/** Values that trip every keyword our schemas use: types, lengths around bounds, formats. */
const ODD_VALUES: Json[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1001,
  1e9,
  '',
  'x',
  'a'.repeat(65),
  '😀'.repeat(64),
  '😀'.repeat(65),
  '\ud83d'.repeat(70),
  'not a uri',
  'https://shop.example/',
  '2026-11-26T12:00:00Z',
  '2026-02-30T12:00:00Z',
  '3f6c2a8e-5b1d-4c7e-9a0f-2d4b6e8f1a3c',
  'urn:uuid:3f6c2a8e-5b1d-4c7e-9a0f-2d4b6e8f1a3c',
  [],
  [1],
  {},
  { extra: 1 },
];

/** The fixture, then one mutation per (path up to depth 3, odd value), one per deleted key, one extra key. */
function* mutations(root: Json): Generator<Json> {
  yield root;
  for (const v of [null, [], 'event', 5]) yield v;
  function* walk(node: Json, rebuild: (n: Json) => Json, depth: number): Generator<Json> {
    if (node === null || typeof node !== 'object' || depth > 3) return;
    const obj = node as Record<string, Json>;
    yield rebuild({ ...obj, zz_extra: 1 });
    for (const key of Object.keys(obj)) {
      const { [key]: _drop, ...rest } = obj;
      yield rebuild(Array.isArray(node) ? (node as Json[]).filter((_, i) => String(i) !== key) : rest);
      for (const v of ODD_VALUES)
        yield rebuild(Array.isArray(node) ? Object.assign([...node], { [key]: v }) : { ...obj, [key]: v });
      yield* walk(
        obj[key],
        (n) => rebuild(Array.isArray(node) ? Object.assign([...node], { [key]: n }) : { ...obj, [key]: n }),
        depth + 1,
      );
    }
  }
  yield* walk(root, (n) => n, 0);
}

let registry: Registry;
let wholeWire: Map<string, ReturnType<ReturnType<typeof createSchemaAjv>['compile']>>;

beforeAll(async () => {
  registry = await loadRegistry(SCHEMAS);
  const ajv = createSchemaAjv();
  for (const c of registry.commons) ajv.addSchema(c.schema);
  for (const e of registry.events) ajv.addSchema(e.schema);
  wholeWire = new Map(registry.events.map((e) => [`${e.name}@${e.model}`, ajv.compile(wireSchema(registry, e))]));
});

describe.each(events)('%s: generated validator = ajv on the whole wire schema', (event) => {
  it('gives the same verdict and errors for every fixture and mutation', () => {
    let compared = 0;
    let rejected = 0;
    for (const e of registry.events.filter((m) => m.name === event)) {
      const generated = validatorFor(e.name, e.model);
      const whole = wholeWire.get(`${e.name}@${e.model}`);
      if (!generated || !whole) throw new Error(`no validator for ${e.name} v${e.model}`);
      for (const fixture of fixtures(event)) {
        for (const data of mutations(fixture)) {
          const ok = generated(data);
          const expected = whole(data);
          if (ok !== expected || JSON.stringify(generated.errors) !== JSON.stringify(whole.errors)) {
            expect({ data, ok, errors: generated.errors }).toEqual({ data, ok: expected, errors: whole.errors });
          }
          compared++;
          if (!ok) rejected++;
        }
      }
    }
    // The corpus must exercise rejections, not only acceptances.
    expect(compared).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(compared / 2);
  });
});
