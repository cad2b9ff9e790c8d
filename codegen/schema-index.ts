/**
 * Navigation over the registry's schemas by absolute `$id`: resolving `$ref`s, walking a JSON
 * pointer into an event, and reducing a node to the ValueShape that column-fit checks need.
 */
import type { JsonSchema, Registry } from './registry.ts';
import type { JsonTypeName, ValueShape } from './sql-types.ts';

/** A schema node together with the base URI its relative `$ref`s resolve against. */
export interface Located {
  node: JsonSchema;
  base: string;
}

export class SchemaIndex {
  readonly #byId = new Map<string, JsonSchema>();

  /** The index of a registry's shared shapes and event models (their own objects), by `$id`. */
  static of(registry: Pick<Registry, 'commons' | 'events'>): SchemaIndex {
    const index = new SchemaIndex();
    for (const s of [...registry.commons, ...registry.events]) index.#byId.set(s.id, s.schema);
    return index;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Absolute URI a `$ref` points to, without fragment. */
  static target(ref: string, base: string): string {
    const url = new URL(ref, base);
    url.hash = '';
    return url.href;
  }

  /** Follows `$ref`s until a node without one. Throws on a reference that resolves to nothing. */
  deref(located: Located): Located {
    let current = located;
    for (let hops = 0; current.node.$ref !== undefined; hops++) {
      if (hops > 32) throw new Error(`$ref cycle at ${current.node.$ref}`);
      const id = SchemaIndex.target(current.node.$ref, current.base);
      const target = this.#byId.get(id);
      if (!target)
        throw new Error(`$ref "${current.node.$ref}" resolves to ${id}, which is not a schema in the registry`);
      current = { node: target, base: id };
    }
    return current;
  }

  /**
   * Walks one pointer segment down from an object or array node. Returns undefined when the
   * schema does not describe that member.
   */
  child(located: Located, segment: string): { located: Located; required: boolean } | undefined {
    const { node, base } = this.deref(located);
    if (node.properties && Object.hasOwn(node.properties, segment)) {
      const sub = node.properties[segment] as JsonSchema;
      return { located: { node: sub, base }, required: (node.required ?? []).includes(segment) };
    }
    if (node.items && /^(0|[1-9]\d*)$/.test(segment)) {
      return { located: { node: node.items as JsonSchema, base }, required: Number(segment) < (node.minItems ?? 0) };
    }
    return undefined;
  }

  /** Reduces a node (after `$ref`s) to the set of values it accepts, for column-fit checks. */
  shape(located: Located): ValueShape {
    const { node, base } = this.deref(located);
    const branches = node.anyOf ?? node.oneOf;
    if (branches) {
      const shapes = branches.map((b) => this.shape({ node: b as JsonSchema, base }));
      return unionShapes(shapes);
    }
    const shape: ValueShape = { types: new Set() };
    const declared = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
    for (const t of declared) shape.types.add(t as JsonTypeName);
    const values = node.const !== undefined ? [node.const] : node.enum;
    if (values) {
      shape.values = values;
      if (declared.length === 0) for (const v of values) shape.types.add(jsonTypeOf(v));
    }
    if (declared.length === 0 && !values) {
      for (const t of ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] as const)
        shape.types.add(t);
    }
    shape.maxLength = node.maxLength;
    shape.minimum = lowerBound(node);
    shape.maximum = upperBound(node);
    shape.format = node.format;
    return shape;
  }
}

function lowerBound(node: JsonSchema): number | undefined {
  const bounds = [node.minimum, node.exclusiveMinimum].filter((b): b is number => b !== undefined);
  return bounds.length ? Math.max(...bounds) : undefined;
}

function upperBound(node: JsonSchema): number | undefined {
  const bounds = [node.maximum, node.exclusiveMaximum].filter((b): b is number => b !== undefined);
  return bounds.length ? Math.min(...bounds) : undefined;
}

export function jsonTypeOf(value: unknown): JsonTypeName {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonTypeName;
}

function unionShapes(shapes: ValueShape[]): ValueShape {
  const widest = (pick: (s: ValueShape) => number | undefined, fold: (...n: number[]) => number) => {
    const all = shapes.map(pick);
    return all.some((v) => v === undefined) ? undefined : fold(...(all as number[]));
  };
  const formats = new Set(shapes.map((s) => s.format));
  return {
    types: new Set(shapes.flatMap((s) => [...s.types])),
    maxLength: widest((s) => s.maxLength, Math.max),
    minimum: widest((s) => s.minimum, Math.min),
    maximum: widest((s) => s.maximum, Math.max),
    format: formats.size === 1 ? [...formats][0] : undefined,
    values: shapes.every((s) => s.values) ? shapes.flatMap((s) => s.values ?? []) : undefined,
  };
}
