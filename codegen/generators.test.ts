/**
 * Each generator over a small inline registry: one shared shape, one event with two models and
 * one warehouse table. Asserts the parts of the output that services rely on.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAll } from './generate.ts';
import * as catalog from './generators/catalog.ts';
import * as drizzle from './generators/drizzle.ts';
import * as mappers from './generators/mappers.ts';
import * as tracker from './generators/tracker.ts';
import * as types from './generators/types.ts';
import * as validators from './generators/validators.ts';
import { layout } from './layout.ts';
import { loadRegistry } from './load.ts';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from './meta-schema.ts';
import type { Registry } from './registry.ts';
import { REPO_ROOT } from './testing/temp-schemas.ts';

const header = (id: string, title: string) => ({
  $schema: SCHEMA_DIALECT,
  $id: `${SCHEMA_BASE_URI}${id}`,
  title,
  description: `Test schema ${title}.`,
  'x-owner': 'test-team',
});

const files: Record<string, unknown> = {
  'common/coupon.json': {
    ...header('common/coupon.json', 'Coupon'),
    type: 'object',
    additionalProperties: false,
    required: ['code'],
    properties: { code: { type: 'string', minLength: 1, maxLength: 20, description: 'Coupon code.' } },
  },
  'events/coupon_apply/1.json': {
    ...header('events/coupon_apply/1.json', 'coupon_apply'),
    type: 'object',
    additionalProperties: false,
    required: ['coupon'],
    properties: { coupon: { $ref: '../../common/coupon.json', description: 'The coupon applied.' } },
  },
  'events/coupon_apply/2.json': {
    ...header('events/coupon_apply/2.json', 'coupon_apply'),
    type: 'object',
    additionalProperties: false,
    required: ['coupon', 'discount'],
    properties: {
      coupon: { $ref: '../../common/coupon.json', description: 'The coupon applied.' },
      discount: { type: 'number', minimum: 0, maximum: 1000, description: 'Amount taken off.' },
    },
  },
  'warehouse/coupon_events.json': {
    ...header('warehouse/coupon_events.json', 'coupon_events'),
    table: 'coupon_events',
    primaryKey: ['event_id'],
    columns: {
      event_id: { type: 'uuid', nullable: false, description: 'Event id.', source: '/event_id' },
      code: { type: 'varchar(20)', nullable: false, description: 'Coupon code.', source: '/properties/coupon/code' },
      discount: { type: 'numeric(8,2)', nullable: true, description: 'Discount.', source: '/properties/discount' },
      note: { type: 'text', nullable: true, description: 'Filled by hand.' },
    },
    indexes: [{ name: 'coupon_events_code_idx', columns: ['code'] }],
  },
};

let root: string;
let registry: Registry;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'registry-'));
  // The envelope, enrichment and page shapes are part of every registry.
  await mkdir(path.join(root, 'schemas', 'common'), { recursive: true });
  for (const f of ['envelope.json', 'enrichment.json', 'page.json'])
    await cp(path.join(REPO_ROOT, 'schemas', 'common', f), path.join(root, 'schemas', 'common', f));
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, 'schemas', rel)), { recursive: true });
    await writeFile(path.join(root, 'schemas', rel), JSON.stringify(body));
  }
  registry = await loadRegistry(path.join(root, 'schemas'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('types generator', () => {
  it('emits shared shapes once and event properties referencing them by name', async () => {
    const [file] = await types.generate(registry);
    expect(file?.path).toBe(layout.eventTypes);
    const ts = file?.contents ?? '';
    expect(ts.match(/export interface Coupon \{/g)).toHaveLength(1);
    expect(ts).toMatch(/export interface CouponApplyV1Properties \{[^}]*coupon: Coupon\b/s);
    expect(ts).toMatch(/export interface CouponApplyV2Properties \{[^}]*discount: number\b/s);
    expect(ts).toMatch(/coupon_apply: \{ 1: CouponApplyV1Properties; 2: CouponApplyV2Properties \}/);
    expect(ts).toMatch(/coupon_apply: 2;/);
  });
});

describe('tracker generator', () => {
  it('exposes one camelCase function per event, sending its newest model', () => {
    const [file] = tracker.generate(registry);
    expect(file?.contents).toContain(
      "couponApply: (properties: CouponApplyV2Properties): void => track('coupon_apply', 2, properties)",
    );
    expect(file?.contents).toContain('coupon_apply: 2,');
  });
});

describe('validators generator', () => {
  it('emits one standalone module per model with no require() and a dispatch table', () => {
    const out = validators.generate(registry);
    expect(out.map((f) => f.path).sort()).toEqual(
      [
        layout.validatorRuntime,
        layout.validatorEnvelope,
        layout.validator({ name: 'coupon_apply', model: 1 }),
        layout.validator({ name: 'coupon_apply', model: 2 }),
        layout.validatorIndex,
      ].sort(),
    );
    for (const f of out) expect(f.contents).not.toMatch(/require\(/);
    const index = out.find((f) => f.path === layout.validatorIndex)?.contents ?? '';
    expect(index).toContain('coupon_apply: { 1: coupon_apply_v1, 2: coupon_apply_v2 }');
  });
});

describe('mappers generator', () => {
  it('maps each model with the fields it has and null for the rest', () => {
    const [file] = mappers.generate(registry);
    const ts = file?.contents ?? '';
    expect(ts).toMatch(/export function mapCouponApplyV1\(e: EnrichedEvent<'coupon_apply', 1>\): CouponEventsRow/);
    expect(ts).toMatch(
      /mapCouponApplyV1[\s\S]*?code: e\.properties\.coupon\.code,[\s\S]*?discount: null,[\s\S]*?note: null,/,
    );
    expect(ts).toMatch(/mapCouponApplyV2[\s\S]*?discount: e\.properties\.discount,/);
  });
});

describe('drizzle generator', () => {
  it('declares columns with their SQL types, nullability, key and indexes', () => {
    const [file] = drizzle.generate(registry);
    const ts = file?.contents ?? '';
    expect(ts).toContain("event_id: uuid('event_id').notNull().primaryKey(),");
    expect(ts).toContain("code: varchar('code', { length: 20 }).notNull(),");
    expect(ts).toContain("discount: numeric('discount', { precision: 8, scale: 2 }),");
    expect(ts).toContain("index('coupon_events_code_idx').on(t.code)");
    expect(ts).toMatch(/export interface CouponEventsRow \{[^}]*discount: number \| null;/s);
    expect(ts).toContain("export const couponEventsColumns = ['event_id', 'code', 'discount', 'note'] as const;");
  });
});

describe('catalog generator', () => {
  it('lists every model with owner, properties and the columns it feeds', () => {
    const [file] = catalog.generate(registry);
    const md = file?.contents ?? '';
    expect(md).toContain('## coupon_apply (model 2)');
    expect(md).toContain('- Owner: `test-team`');
    expect(md).toContain('| `discount` | number | yes | ≥ 0, ≤ 1000 | Amount taken off. |');
    expect(md).toContain('`coupon_events.code` ← `/properties/coupon/code`');
    expect(md).not.toContain('`coupon_events.event_id` ←');
  });
});

describe('generateAll', () => {
  it('gives every file a do-not-edit banner naming its source and is byte-identical across runs', async () => {
    const first = await generateAll(registry);
    const second = await generateAll(registry);
    expect(second).toEqual(first);
    for (const f of first)
      expect(f.contents.split('\n', 1)[0]).toMatch(
        /Generated by `npm run codegen` from (schemas|codegen)\/.* — do not edit/,
      );
  });
});
