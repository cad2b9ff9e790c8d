/**
 * One loaded registry as the checker sees it: schemas by `$id`, the file each `$id` lives in, and
 * an ajv instance (the project's own configuration) to ask "does this schema node accept this
 * value?" when a comparison can be decided exactly.
 */

import type { ValidateFunction } from 'ajv';
import type Ajv2020 from 'ajv/dist/2020.js';
import { joinPointer } from '../../services/json-pointer.ts';
import { createSchemaAjv } from '../ajv.ts';
import { SCHEMA_BASE_URI } from '../meta-schema.ts';
import type { JsonSchema, Registry } from '../registry.ts';
import type { SchemaIndex } from '../schema-index.ts';

export interface Side {
  /** Where this state comes from, e.g. `HEAD`, `a1b2c3d` or a folder. */
  label: string;
  registry: Registry;
  index: SchemaIndex;
  fileOf(id: string): string;
  rootOf(id: string): JsonSchema | undefined;
  /** Validates `value` against the node at `pointer` inside the schema `$id`. */
  accepts(id: string, pointer: string, value: unknown): { ok: boolean; keyword?: string };
}

export function makeSide(label: string, registry: Registry): Side {
  const roots = new Map<string, { file: string; schema: JsonSchema }>();
  for (const c of registry.commons) roots.set(c.id, { file: c.file, schema: c.schema });
  for (const e of registry.events) roots.set(e.id, { file: e.file, schema: e.schema });

  let ajv: Ajv2020 | undefined;
  const probes = new Map<string, ValidateFunction>();
  const probe = (id: string, pointer: string): ValidateFunction => {
    const key = `${id}#${pointer}`;
    let fn = probes.get(key);
    if (!fn) {
      if (!ajv) {
        ajv = createSchemaAjv();
        for (const [sid, { schema }] of roots) ajv.addSchema({ ...schema, $id: sid });
      }
      fn = ajv.compile({ $id: `${SCHEMA_BASE_URI}compat/probe/${probes.size}.json`, $ref: key });
      probes.set(key, fn);
    }
    return fn;
  };

  return {
    label,
    registry,
    index: registry.index,
    fileOf: (id) => roots.get(id)?.file ?? id,
    rootOf: (id) => roots.get(id)?.schema,
    accepts(id, pointer, value) {
      const fn = probe(id, pointer);
      if (fn(value)) return { ok: true };
      // The deepest error names the keyword that rejected the value.
      const errors = fn.errors ?? [];
      const last = errors.find((e) => !['anyOf', 'oneOf', 'allOf', '$ref'].includes(e.keyword)) ?? errors[0];
      return { ok: false, keyword: last?.keyword };
    },
  };
}

/** JSON pointer of `target` inside `root`, found by object identity. */
export function pointerOf(root: unknown, target: unknown, at = ''): string | undefined {
  if (root === target) return at;
  if (root === null || typeof root !== 'object') return undefined;
  for (const [k, v] of Object.entries(root)) {
    const hit = pointerOf(v, target, joinPointer(at, k));
    if (hit !== undefined) return hit;
  }
  return undefined;
}
