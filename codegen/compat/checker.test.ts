import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../load.ts';
import { CommonSchemaFile, EventSchemaFile, SchemaNode, WarehouseColumn, WarehouseTableFile } from '../meta-schema.ts';
import type { JsonSchema, Registry } from '../registry.ts';
import { SchemaIndex } from '../schema-index.ts';
import { applyAllowlist } from './allowlist.ts';
import { checkCompatibility, exitCodeOf } from './check.ts';
import { CLASSIFIED_KEYWORDS } from './producer.ts';
import { lineOfPointer, pointerLines } from './render.ts';
import { type Finding, RULES } from './rules.ts';
import { makeSide } from './side.ts';
import { COLUMN_KEYS, TABLE_KEYS } from './warehouse.ts';

const SCHEMAS = path.resolve(import.meta.dirname, '..', '..', 'schemas');

let shipped: Registry;
beforeAll(async () => {
  shipped = await loadRegistry(SCHEMAS, { refuseMisfits: false, enforcePolicy: false });
});

/** An edited copy of a loaded registry with the index of what it holds now. */
const reindexed = (registry: Registry): Registry => ({ ...registry, index: SchemaIndex.of(registry) });

const errorsOf = (findings: Finding[]) => findings.filter((f) => f.severity === 'error');

/** A private copy of the shipped registry with one event schema edited. */
function edited(name: string, change: (schema: JsonSchema) => void): Registry {
  const copy = structuredClone(shipped);
  const event = copy.events.find((e) => e.name === name && e.model === 1);
  if (!event) throw new Error(`no shipped event ${name}`);
  change(event.schema);
  return copy;
}

describe('the shipped schemas', () => {
  it('compared with themselves give no findings at all', () => {
    const findings = checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', shipped) });
    expect(findings).toEqual([]);
  });

  it('catch a new required property on every shipped event, with a fix naming the next model file', () => {
    for (const event of shipped.events) {
      const head = edited(event.name, (s) => {
        s.properties = { ...s.properties, compat_probe: { type: 'string', description: 'Probe.' } };
        s.required = [...(s.required ?? []), 'compat_probe'];
      });
      const findings = errorsOf(
        checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', reindexed(head)) }),
      );
      expect(findings.map((f) => [f.rule, f.event, f.pointer])).toEqual([
        ['EVENT_REQUIRED_ADDED', event.name, `/required/${(event.schema.required ?? []).length}`],
      ]);
      expect(findings[0]?.fix).toContain(`schemas/events/${event.name}/2.json`);
    }
  });

  it('catch a removed property on every shipped event that has one', () => {
    for (const event of shipped.events.filter((e) => Object.keys(e.schema.properties ?? {}).length > 0)) {
      const head = edited(event.name, (s) => {
        const [first] = Object.keys(s.properties ?? {});
        const { [first as string]: _gone, ...rest } = s.properties ?? {};
        s.properties = rest;
        s.required = (s.required ?? []).filter((r) => r !== first);
      });
      const rules = errorsOf(
        checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', reindexed(head)) }),
      ).map((f) => f.rule);
      expect(rules).toContain('EVENT_PROPERTY_REMOVED');
    }
  });

  it('pass safe edits on every shipped event: descriptions and a new optional property', () => {
    for (const event of shipped.events) {
      const head = edited(event.name, (s) => {
        s.description = `${s.description} (reworded)`;
        s.properties = { ...s.properties, compat_probe: { type: 'boolean', description: 'Optional probe.' } };
      });
      const findings = checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', reindexed(head)) });
      expect(errorsOf(findings)).toEqual([]);
      expect(exitCodeOf(findings)).toBe(0);
    }
  });
});

describe('the shipped schemas against the warehouse', () => {
  const check = (head: Registry) =>
    checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', reindexed(head)) });

  it('pass a widening the mapped column already fits (add_to_cart quantity up to 9999 into integer)', () => {
    const head = edited('add_to_cart', (s) => {
      (s.properties?.quantity as JsonSchema).maximum = 9999;
    });
    expect(errorsOf(check(head))).toEqual([]);
  });

  it('catch a widening the column cannot hold, located at the field in the shared shape', () => {
    const head = structuredClone(shipped);
    const product = head.commons.find((c) => c.file === 'schemas/common/product.json');
    (product?.schema.properties?.name as JsonSchema).maxLength = 300;
    const findings = errorsOf(check(head));
    expect(new Set(findings.map((f) => `${f.rule} ${f.file}#${f.pointer}`))).toEqual(
      new Set(['WAREHOUSE_FIELD_DOES_NOT_FIT schemas/common/product.json#/properties/name']),
    );
    // One finding per event model that carries a product.
    expect(findings.map((f) => f.event)).toContain('add_to_cart');
    expect(findings[0]?.message).toContain('varchar(255)');
  });

  it('pass a breaking change shipped as a new model file', () => {
    const head = structuredClone(shipped);
    const v1 = head.events.find((e) => e.name === 'add_to_cart' && e.model === 1);
    if (!v1) throw new Error('add_to_cart v1 is shipped');
    const schema = structuredClone(v1.schema);
    schema.required = [...(schema.required ?? []), 'cart_id'];
    head.events.push({
      ...v1,
      model: 2,
      id: v1.id.replace('/1.json', '/2.json'),
      file: v1.file.replace('/1.json', '/2.json'),
      schema: { ...schema, $id: v1.id.replace('/1.json', '/2.json') },
    });
    const findings = check(head);
    expect(errorsOf(findings)).toEqual([]);
    expect(findings.map((f) => f.rule)).toEqual(['EVENT_MODEL_ADDED']);
  });
});

describe('failing closed', () => {
  it('classifies every keyword the meta-schema allows', () => {
    const keys = (s: unknown) => Object.keys((s as { properties: Record<string, unknown> }).properties);
    const allowed = new Set([...keys(SchemaNode), ...keys(EventSchemaFile), ...keys(CommonSchemaFile)]);
    expect([...allowed].filter((k) => !CLASSIFIED_KEYWORDS.has(k))).toEqual([]);
  });

  it('knows every warehouse table and column property the meta-schema allows', () => {
    const keys = (s: unknown) => Object.keys((s as { properties: Record<string, unknown> }).properties);
    // The loader renames `source` to `sources`, `table` to `name`, `$id` to `id`, `x-owner` to `owner`.
    const renamed: Record<string, string> = { source: 'sources', table: 'name', $id: 'id', 'x-owner': 'owner' };
    const column = keys(WarehouseColumn).map((k) => renamed[k] ?? k);
    expect(column.filter((k) => !COLUMN_KEYS.has(k))).toEqual([]);
    const table = keys(WarehouseTableFile)
      .filter((k) => !['$schema', 'title'].includes(k))
      .map((k) => renamed[k] ?? k);
    expect(table.filter((k) => !TABLE_KEYS.has(k))).toEqual([]);
  });

  // The loader refuses unknown keywords, so the keyword is planted after loading: this proves the
  // checker fails closed on its own if the meta-schema ever allows a keyword it does not know.
  it('reports an unknown keyword as undecided (exit 2), which no allowlist entry can accept', () => {
    const head = edited('add_to_cart', (s) => {
      (s.properties?.quantity as Record<string, unknown>).contains = { const: 1 };
    });
    const findings = checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', reindexed(head)) });
    expect(findings).toContainEqual(
      expect.objectContaining({
        rule: 'UNCLASSIFIED_KEYWORD',
        direction: 'X',
        event: 'add_to_cart',
        pointer: '/properties/quantity/contains',
      }),
    );
    expect(exitCodeOf(findings)).toBe(2);
    const allowed = applyAllowlist(
      findings,
      [
        {
          rule: 'UNCLASSIFIED_KEYWORD',
          event: 'add_to_cart',
          model: 1,
          pointer: '/properties/quantity/contains',
          reason: 'trying to silence the checker',
        },
      ],
      'x',
    );
    expect(exitCodeOf(allowed)).toBe(2);
  });

  it('reports an unknown warehouse column property as undecided', () => {
    const head = structuredClone(shipped);
    const column = head.tables[0]?.columns[0] as unknown as Record<string, unknown>;
    column.collation = 'C';
    const findings = checkCompatibility({ base: makeSide('base', shipped), head: makeSide('head', reindexed(head)) });
    expect(findings.map((f) => f.rule)).toContain('UNCLASSIFIED_KEYWORD');
    expect(exitCodeOf(findings)).toBe(2);
  });
});

describe('the allowlist', () => {
  const finding: Finding = {
    rule: 'EVENT_ENUM_VALUE_REMOVED',
    severity: 'error',
    direction: 'P',
    event: 'purchase',
    model: 1,
    file: 'schemas/events/purchase/1.json',
    pointer: '/properties/payment_method/enum',
    message: 'value "cheque" was accepted and is now rejected',
    fix: 'revert',
  };

  it('accepts a matching finding with its reason and leaves others failing', () => {
    const other = { ...finding, event: 'search' };
    const out = applyAllowlist(
      [finding, other],
      [
        {
          rule: 'EVENT_ENUM_VALUE_REMOVED',
          event: 'purchase',
          model: 1,
          pointer: '/properties/payment_method/enum',
          reason: 'cheques were never enabled in production',
        },
      ],
      'schemas/compat-allowlist.json',
    );
    expect(out[0]?.allowlisted).toBe('cheques were never enabled in production');
    expect(out[1]?.allowlisted).toBeUndefined();
    expect(exitCodeOf(out)).toBe(1);
    expect(exitCodeOf([out[0] as Finding])).toBe(0);
  });

  it('matches exactly one place: a field the entry leaves out must be absent from the finding', () => {
    const envelope: Finding = { ...finding, event: null, model: null, file: 'schemas/common/envelope.json' };
    const entry = {
      rule: 'EVENT_ENUM_VALUE_REMOVED' as const,
      pointer: '/properties/payment_method/enum',
      reason: 'the envelope change was rolled out to every tracker first',
    };
    const out = applyAllowlist([envelope, finding], [entry], 'schemas/compat-allowlist.json');
    expect(out.map((f) => Boolean(f.allowlisted))).toEqual([true, false]);
    expect(exitCodeOf(out)).toBe(1);
  });

  it('fails on entries that match nothing, so stale entries get removed', () => {
    const out = applyAllowlist(
      [],
      [
        {
          rule: 'EVENT_MODEL_REMOVED',
          event: 'gone',
          model: 1,
          pointer: '',
          reason: 'removed after the 2024 migration',
        },
      ],
      'schemas/compat-allowlist.json',
    );
    expect(out).toEqual([
      expect.objectContaining({ rule: 'ALLOWLIST_ENTRY_UNUSED', severity: 'error', pointer: '/entries/0' }),
    ]);
    expect(exitCodeOf(out)).toBe(1);
  });
});

describe('pointerLines', () => {
  it('finds the line of every pointer, falling back to the nearest ancestor', () => {
    const text = '{\n  "a": {\n    "b": [\n      1,\n      {"c": "x,}"}\n    ]\n  },\n  "d~e/f": 2\n}\n';
    const lines = pointerLines(text);
    expect(lines.get('/a')).toBe(2);
    expect(lines.get('/a/b')).toBe(3);
    expect(lines.get('/a/b/1/c')).toBe(5);
    expect(lines.get('/d~0e~1f')).toBe(8);
    expect(lineOfPointer(lines, '/a/b/7/missing')).toBe(3);
  });
});

describe('docs/schemas-check.md', () => {
  it('lists every rule with its severity and direction', async () => {
    const doc = await readFile(path.resolve(import.meta.dirname, '..', '..', 'docs/schemas-check.md'), 'utf8');
    for (const [id, rule] of Object.entries(RULES)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${id}\` |`));
      expect(row, id).toBeDefined();
      expect(row).toMatch(new RegExp(`\\| ${rule.severity}[^|]*\\| ${rule.direction} \\|`));
    }
  });
});
