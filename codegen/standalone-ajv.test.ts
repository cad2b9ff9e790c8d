/**
 * The standalone validators compile on one ajv instance put back, before each module, to its state
 * right after compiling the meta-schema (codegen/generators/validators.ts, StandaloneAjv): the
 * code must be byte for byte what a new instance writes, for every module, in any order.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSchemaAjv } from './ajv.ts';
import { StandaloneAjv, standaloneWith } from './generators/validators.ts';
import { loadRegistry } from './load.ts';
import type { JsonSchema, Registry } from './registry.ts';

let registry: Registry;
let commons: JsonSchema[];
beforeAll(async () => {
  registry = await loadRegistry(path.resolve(import.meta.dirname, '..', 'schemas'));
  commons = registry.commons.map((c) => c.schema);
});

const wrapper = (id: string, name: string): JsonSchema => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `https://example.test/wire/${name}.json`,
  $ref: id,
});
const onNewInstance = (schema: JsonSchema, extra: JsonSchema[]) =>
  standaloneWith(createSchemaAjv({ standalone: true }), commons, schema, extra);

describe('StandaloneAjv', () => {
  it('writes what a new ajv instance writes, for every event, forwards and backwards', () => {
    const events = registry.events;
    expect(events.length).toBeGreaterThan(10);
    for (const order of [events, [...events].reverse()]) {
      const instances = new StandaloneAjv(commons);
      for (const e of order) {
        const schema = wrapper(e.id, e.name);
        expect(instances.compile(commons, schema, [e.schema])).toBe(onNewInstance(schema, [e.schema]));
      }
      expect(instances.reusing).toBe(true);
    }
  });

  it('compiles on new instances from the first difference its check finds', () => {
    const instances = new StandaloneAjv(commons);
    // A state that no longer matches a new instance's (as after an ajv upgrade moved its fields).
    (instances as unknown as { initial: { scope: { _names: { validate: { index: number } } } } }).initial.scope._names
      .validate.index++;
    const [first, second] = registry.events as [Registry['events'][0], Registry['events'][0]];
    const a = wrapper(first.id, first.name);
    expect(instances.compile(commons, a, [first.schema])).toBe(onNewInstance(a, [first.schema]));
    expect(instances.reusing).toBe(false);
    const b = wrapper(second.id, second.name);
    expect(instances.compile(commons, b, [second.schema])).toBe(onNewInstance(b, [second.schema]));
  });
});
