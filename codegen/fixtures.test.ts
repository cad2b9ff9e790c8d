/**
 * One corpus, both validators: every fixture under schemas/events/<name>/fixtures must get the
 * same verdict from runtime ajv (compiling the schemas now) and from the committed standalone
 * validator that ingest runs — and that verdict must be the one the folder name promises.
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

function fixtures(event: string, kind: 'valid' | 'invalid'): [string, unknown][] {
  const dir = path.join(SCHEMAS, 'events', event, 'fixtures', kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8'))]);
}

let registry: Registry;
let runtime: (data: unknown) => boolean;

beforeAll(async () => {
  registry = await loadRegistry(SCHEMAS);
  const ajv = createSchemaAjv();
  for (const c of registry.commons) ajv.addSchema(c.schema);
  for (const e of registry.events) ajv.addSchema(e.schema);
  const compiled = new Map(registry.events.map((e) => [`${e.name}@${e.model}`, ajv.compile(wireSchema(registry, e))]));
  runtime = (data) => {
    const { event_name, event_version } = data as { event_name: string; event_version: number };
    // An event claiming an unknown model is validated against model 1, which must reject it.
    const v = compiled.get(`${event_name}@${event_version}`) ?? compiled.get(`${event_name}@1`);
    if (!v) throw new Error(`no schema for ${event_name}`);
    return v(data);
  };
});

function generated(data: unknown): boolean {
  const { event_name, event_version } = data as { event_name: string; event_version: number };
  const v = validatorFor(event_name, event_version) ?? validatorFor(event_name, 1);
  if (!v) throw new Error(`no generated validator for ${event_name}`);
  return v(data);
}

describe.each(events)('%s fixtures', (event) => {
  it('has at least 3 valid and 5 invalid examples', () => {
    expect(fixtures(event, 'valid').length).toBeGreaterThanOrEqual(3);
    expect(fixtures(event, 'invalid').length).toBeGreaterThanOrEqual(5);
  });

  it('accepts every valid fixture in runtime ajv and the standalone validator', () => {
    for (const [file, data] of fixtures(event, 'valid')) {
      expect({ file, runtime: runtime(data), generated: generated(data) }).toEqual({
        file,
        runtime: true,
        generated: true,
      });
    }
  });

  it('rejects every invalid fixture in runtime ajv and the standalone validator', () => {
    for (const [file, data] of fixtures(event, 'invalid')) {
      expect({ file, runtime: runtime(data), generated: generated(data) }).toEqual({
        file,
        runtime: false,
        generated: false,
      });
    }
  });
});

describe('standalone validator errors', () => {
  it('point at the offending field with the failing rule', () => {
    const [, data] = fixtures('add_to_cart', 'invalid').find(([f]) => f === 'quantity-zero.json') ?? [];
    const v = validatorFor('add_to_cart', 1);
    expect(v?.(data)).toBe(false);
    expect(v?.errors).toContainEqual(
      expect.objectContaining({ instancePath: '/properties/quantity', keyword: 'minimum' }),
    );
  });

  it('has no validator for an unknown name or version, including prototype keys', () => {
    expect(validatorFor('add_to_cart', 2)).toBeUndefined();
    expect(validatorFor('no_such_event', 1)).toBeUndefined();
    expect(validatorFor('__proto__', 1)).toBeUndefined();
    expect(validatorFor('constructor', 1)).toBeUndefined();
  });
});
