import { readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRegistry, RegistryError } from './load.ts';
import { copySchemas, REPO_ROOT, type TempSchemas } from './testing/temp-schemas.ts';

let schemas: TempSchemas;
beforeEach(async () => {
  schemas = await copySchemas();
});
afterEach(() => schemas.remove());

/** Loads the broken copy and returns the `file#pointer: message` lines it was refused with. */
async function problems(): Promise<string[]> {
  try {
    await loadRegistry(schemas.dir);
  } catch (e) {
    if (e instanceof RegistryError) return e.issues.map((i) => `${i.file}#${i.pointer}: ${i.message}`);
    throw e;
  }
  throw new Error('the registry loaded although it was broken');
}

const ATC = 'events/add_to_cart/1.json';
const WH = 'warehouse/clickstream_events.json';

describe('loadRegistry on the shipped schemas', () => {
  it('loads every event model, shape and table', async () => {
    const registry = await loadRegistry(path.join(REPO_ROOT, 'schemas'));
    expect(registry.events.map((e) => e.name)).toContain('add_to_cart');
    const folders = readdirSync(path.join(REPO_ROOT, 'schemas', 'events'));
    expect(registry.events.map((e) => e.name).sort()).toEqual(expect.arrayContaining(folders.sort()));
    expect(new Set(registry.events.map((e) => e.name)).size).toBe(folders.length);
    expect(registry.tables.map((t) => t.name)).toContain('clickstream_events');
    const atc = registry.mappings.find((m) => m.event === 'add_to_cart' && m.table === 'clickstream_events');
    expect(atc?.columns.find((c) => c.column === 'context_product_id')?.pointer).toBe('/properties/product/id');
    const pv = registry.mappings.find((m) => m.event === 'page_view');
    expect(pv?.columns.find((c) => c.column === 'context_product_id')?.pointer).toBeNull();
  });
});

describe('loadRegistry refuses invalid schema files', () => {
  it('missing $id', async () => {
    await schemas.edit(ATC, (s) => delete s.$id);
    expect(await problems()).toContain('schemas/events/add_to_cart/1.json#: missing required "$id"');
  });

  it('missing description at the top and on a property', async () => {
    await schemas.edit(ATC, (s) => {
      delete s.description;
      delete s.properties.quantity.description;
    });
    expect(await problems()).toContain('schemas/events/add_to_cart/1.json#: missing required "description"');
    await schemas.edit(ATC, (s) => {
      s.description = 'A product was added to the cart.';
    });
    expect(await problems()).toContain(
      'schemas/events/add_to_cart/1.json#/properties/quantity: property has no description',
    );
  });

  it('missing owner', async () => {
    await schemas.edit(ATC, (s) => delete s['x-owner']);
    expect(await problems()).toContain('schemas/events/add_to_cart/1.json#: missing required "x-owner"');
  });

  it('$id that does not match the event name and model of the path', async () => {
    await schemas.edit(ATC, (s) => {
      s.$id = 'https://clickstream.example/schemas/events/add_to_basket/1.json';
    });
    expect((await problems()).join('\n')).toMatch(
      /add_to_cart\/1\.json#\/\$id: \$id must be .*events\/add_to_cart\/1\.json to match the file path \(event add_to_cart, model 1\)/,
    );
  });

  it('model file not named <model>.json', async () => {
    await rename(path.join(schemas.dir, ATC), path.join(schemas.dir, 'events/add_to_cart/v1.json'));
    expect((await problems()).join('\n')).toContain(
      'schemas/events/add_to_cart/v1.json#: event model files are named <model>.json',
    );
  });

  it('unknown keyword (a typo must not silently mean "no bound")', async () => {
    await schemas.edit(ATC, (s) => {
      s.properties.cart_id.maxLenght = 64;
    });
    expect(await problems()).toContain(
      'schemas/events/add_to_cart/1.json#/properties/cart_id: unknown keyword "maxLenght"',
    );
  });

  it('broken $ref', async () => {
    await schemas.edit(ATC, (s) => {
      s.properties.product.$ref = '../../common/produkt.json';
    });
    expect((await problems()).join('\n')).toContain(
      'schemas/events/add_to_cart/1.json#/properties/product/$ref: broken $ref "../../common/produkt.json"',
    );
  });

  it('$ref into part of a file (the types would name the whole shape)', async () => {
    await schemas.edit('events/search/1.json', (s) => {
      s.properties.max_price = { $ref: '../../common/product.json#/properties/price', description: 'Price cap.' };
    });
    expect((await problems()).join('\n')).toContain(
      'schemas/events/search/1.json#/properties/max_price/$ref: $ref "../../common/product.json#/properties/price" points inside a file',
    );
  });

  it('values without bounds', async () => {
    await schemas.edit('events/search/1.json', (s) => {
      s.properties.note = { type: 'string', description: 'Free text.' };
      s.properties.score = { type: 'number', minimum: 0, description: 'A score.' };
      s.properties.tags = { type: 'array', items: { type: 'string', maxLength: 10 }, description: 'Tags.' };
    });
    expect(await problems()).toEqual([
      'schemas/events/search/1.json#/properties/note: a string needs maxLength (or an enum, const or a uuid/date-time/date format)',
      'schemas/events/search/1.json#/properties/score: a number needs both a lower bound (minimum) and an upper bound (maximum)',
      'schemas/events/search/1.json#/properties/tags: an array needs maxItems',
    ]);
  });

  it('open object', async () => {
    await schemas.edit('common/product.json', (s) => {
      s.additionalProperties = true;
    });
    expect(await problems()).toContain(
      'schemas/common/product.json#: an object with properties must set "additionalProperties": false',
    );
  });

  it('required property that is not declared', async () => {
    await schemas.edit(ATC, (s) => {
      s.required.push('coupon');
    });
    expect(await problems()).toContain(
      'schemas/events/add_to_cart/1.json#/required: required property "coupon" is not in properties',
    );
  });

  it('invalid JSON', async () => {
    await schemas.write(ATC, '{ "title": ');
    expect((await problems())[0]).toMatch(/^schemas\/events\/add_to_cart\/1\.json#: cannot read JSON: /);
  });

  it('event folder without a model file', async () => {
    await mkdir(path.join(schemas.dir, 'events', 'empty_event'));
    expect(await problems()).toContain('schemas/events/empty_event#: event folder has no model file (1.json)');
  });
});

describe('loadRegistry refuses warehouse mappings that do not fit', () => {
  it('string into an integer column names the event, field, column and both types', async () => {
    await schemas.edit(ATC, (s) => {
      s.properties.quantity = { type: 'string', maxLength: 3, description: 'Units as text.' };
    });
    expect(await problems()).toContain(
      'schemas/warehouse/clickstream_events.json#/columns/quantity/source: event add_to_cart v1 field /properties/quantity is string (maxLength 3) but column clickstream_events.quantity is integer: string values cannot be stored in integer',
    );
  });

  it('number into a boolean column', async () => {
    await schemas.edit(WH, (t) => {
      t.columns.is_first_visit.source = '/properties/product/price';
    });
    expect((await problems()).join('\n')).toContain(
      'event add_to_cart v1 field /properties/product/price is number (range 0..1000000) but column clickstream_events.is_first_visit is boolean: number values cannot be stored in boolean',
    );
  });

  it('unbounded string meant for a short varchar is refused at the field', async () => {
    await schemas.edit('common/product.json', (s) => {
      delete s.properties.name.maxLength;
    });
    expect(await problems()).toContain(
      'schemas/common/product.json#/properties/name: a string needs maxLength (or an enum, const or a uuid/date-time/date format)',
    );
  });

  it('string longer than the varchar', async () => {
    await schemas.edit('common/product.json', (s) => {
      s.properties.brand.maxLength = 300;
    });
    expect((await problems()).join('\n')).toContain('strings up to 300 characters do not fit varchar(100)');
  });

  it('integer range wider than the column', async () => {
    await schemas.edit(WH, (t) => {
      t.columns.quantity.type = 'smallint';
    });
    await schemas.edit(ATC, (s) => {
      s.properties.quantity.maximum = 100000;
    });
    expect((await problems()).join('\n')).toContain('integers in 1..100000 do not fit smallint (-32768..32767)');
  });

  it('optional field into a NOT NULL column', async () => {
    await schemas.edit(WH, (t) => {
      t.columns.page_referrer.nullable = false;
    });
    expect((await problems()).join('\n')).toContain(
      'field /page/referrer may be absent or null but column clickstream_events.page_referrer is NOT NULL without a default',
    );
  });

  it('source that no event has', async () => {
    await schemas.edit(WH, (t) => {
      t.columns.quantity.source = '/properties/qty';
    });
    expect(await problems()).toContain(
      'schemas/warehouse/clickstream_events.json#/columns/quantity/source: source /properties/qty exists in no event schema',
    );
  });

  it('unknown SQL type', async () => {
    await schemas.edit(WH, (t) => {
      t.columns.quantity.type = 'tinyint';
    });
    expect((await problems()).join('\n')).toMatch(
      /clickstream_events\.json#\/columns\/quantity\/type: must match pattern/,
    );
  });
});
