/**
 * Annotation keywords: `title`, `description`, `deprecated`, `examples`, `default`, `x-pii` on
 * any node, and the file header's `$schema`, `$id`, `x-owner` (codegen/meta-schema.ts). Changing
 * them never changes what a schema accepts (see family.ts).
 */
import { Type } from '@sinclair/typebox';
import type { KeywordFamily } from './family.ts';

/** The meta-schema entries (a const of its own: the registry's JsonSchema type is built from it). */
export const ANNOTATION_KEYWORDS = {
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String({ minLength: 1 })),
  deprecated: Type.Optional(Type.Boolean()),
  examples: Type.Optional(Type.Array(Type.Unknown())),
  default: Type.Optional(Type.Unknown()),
  'x-pii': Type.Optional(Type.Boolean()),
};

export const ANNOTATIONS = {
  meta: ANNOTATION_KEYWORDS,
  annotations: ['title', 'description', 'deprecated', 'examples', 'default', 'x-pii'],
  assertions: [],
  valueRules: {},
} satisfies KeywordFamily<keyof typeof ANNOTATION_KEYWORDS>;

/** Annotations of a file's root only (its header in codegen/meta-schema.ts). */
export const FILE_ANNOTATIONS = ['$schema', '$id', 'x-owner'] as const;

/** Keywords of ours that ajv must be told about (strict mode rejects unknown keywords). */
export const CUSTOM_KEYWORDS = ['x-owner', 'x-pii'] as const;

/** Annotations that may stand next to `$ref` (the loader merges no constraints into a reference). */
export const REF_SIBLINGS: readonly string[] = ['description', 'title', 'deprecated', 'examples'];

/**
 * What the validators generator strips before compiling, so validators stay small: every
 * annotation but `default`, and JSON Schema's `$comment`.
 */
export const STRIPPED_BEFORE_COMPILING: readonly string[] = [
  ...ANNOTATIONS.annotations.filter((k) => k !== 'default'),
  'x-owner',
  '$comment',
];
