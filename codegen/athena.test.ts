/**
 * The Athena generator over the real registry and over small registries built to disagree: the
 * columns are the lake line's fields, `properties` is the union of every model's properties, and
 * a field no single Glue type describes falls back to `string` and is listed.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { athenaTables, generate } from './generators/athena.ts';
import { layout } from './layout.ts';
import { loadRegistry } from './load.ts';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from './meta-schema.ts';
import { REPO_ROOT } from './testing/temp-schemas.ts';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

/** A registry of the shared envelope/enrichment/page plus the given events' `properties`. */
async function registryWith(events: Record<string, Record<string, unknown>>) {
  const root = await mkdtemp(path.join(tmpdir(), 'athena-'));
  roots.push(root);
  await mkdir(path.join(root, 'schemas', 'common'), { recursive: true });
  for (const f of ['envelope.json', 'enrichment.json', 'page.json'])
    await cp(path.join(REPO_ROOT, 'schemas', 'common', f), path.join(root, 'schemas', 'common', f));
  for (const [name, properties] of Object.entries(events)) {
    const rel = `events/${name}/1.json`;
    await mkdir(path.join(root, 'schemas', 'events', name), { recursive: true });
    await writeFile(
      path.join(root, 'schemas', rel),
      JSON.stringify({
        $schema: SCHEMA_DIALECT,
        $id: `${SCHEMA_BASE_URI}${rel}`,
        title: name,
        description: `Test event ${name}.`,
        'x-owner': 'test-team',
        type: 'object',
        additionalProperties: false,
        required: [],
        properties,
      }),
    );
  }
  // Policy rules (bounds on numbers, closed objects) are not what these registries test.
  return loadRegistry(path.join(root, 'schemas'), { enforcePolicy: false });
}

const d = (description: string) => ({ description });

describe('athena generator', () => {
  it('gives every envelope and enrichment field one typed column, then the properties struct', async () => {
    const registry = await loadRegistry(path.join(REPO_ROOT, 'schemas'));
    const { events, quarantine, typeFallbacks } = athenaTables(registry);
    const expected = [
      ...Object.keys(registry.envelope.schema.properties ?? {}).filter((n) => n !== 'properties'),
      ...Object.keys(registry.enrichment.schema.properties ?? {}),
      'properties',
    ];
    expect(events.map((c) => c.name)).toEqual(expected);
    const type = (name: string) => events.find((c) => c.name === name)?.type;
    expect(type('event_version')).toBe('bigint');
    expect(type('is_first_visit')).toBe('boolean');
    expect(type('user_id')).toBe('string');
    expect(type('page')).toBe('struct<referrer:string,title:string,url:string>');
    expect(type('properties')).toContain(
      'product:struct<brand:string,category:string,discount_price:double,id:string,name:string,price:double,url_path:string>',
    );
    expect(type('properties')).toMatch(
      /^struct<.*order:struct<.*items:array<struct<product:struct<.*quantity:bigint>>/,
    );
    for (const c of events) expect(c.comment.length).toBeLessThanOrEqual(255);
    expect(quarantine.map((c) => c.name)).toEqual(['raw', 'errors', 'received_at']);
    expect(typeFallbacks).toEqual([]);
  });

  it('merges structs across events and widens integer with number to double', async () => {
    const registry = await registryWith({
      a_event: {
        item: {
          type: 'object',
          additionalProperties: false,
          properties: { id: { type: 'string', ...d('Id.') } },
          ...d('Item.'),
        },
        amount: { type: 'integer', ...d('Amount.') },
      },
      b_event: {
        item: {
          type: 'object',
          additionalProperties: false,
          properties: { size: { type: 'integer', ...d('Size.') } },
          ...d('Item.'),
        },
        amount: { type: 'number', ...d('Amount.') },
        tags: { type: 'array', items: { type: 'string', ...d('Tag.') }, ...d('Tags.') },
      },
    });
    const { events, typeFallbacks } = athenaTables(registry);
    expect(events.at(-1)).toMatchObject({
      name: 'properties',
      type: 'struct<amount:double,item:struct<id:string,size:bigint>,tags:array<string>>',
    });
    expect(typeFallbacks).toEqual([]);
  });

  it('types a conflicting or untyped field as string and lists each one with its reason', async () => {
    const registry = await registryWith({
      a_event: {
        value: { type: 'string', ...d('Value.') },
        blob: { type: 'object', ...d('Free-form.') },
        either: { type: ['string', 'integer'], ...d('Either.') },
      },
      b_event: {
        value: {
          type: 'object',
          additionalProperties: false,
          properties: { x: { type: 'integer', ...d('X.') } },
          ...d('Value.'),
        },
      },
      c_event: { value: { type: 'integer', ...d('Value.') } },
    });
    const { events, typeFallbacks } = athenaTables(registry);
    expect(events.at(-1)?.type).toBe('struct<blob:string,either:string,value:string>');
    expect(typeFallbacks).toEqual([
      { path: '/properties/blob', reason: 'object without declared properties, read as JSON text' },
      { path: '/properties/either', reason: 'several JSON types (string, integer), read as JSON text' },
      { path: '/properties/value', reason: 'conflicting types (string vs struct<x:bigint>), read as JSON text' },
    ]);
    const [file] = generate(registry);
    expect(file?.path).toBe(layout.athenaTables);
    expect(file?.contents).toContain('"path": "/properties/value"');
  });
});
