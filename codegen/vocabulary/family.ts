/**
 * A keyword family (ajv style): one module declares everything the project knows about a group of
 * JSON Schema keywords — which are allowed (the meta-schema entries), which only annotate, the
 * loader's bound policy and consistency checks, how the catalogue shows them and how the
 * compatibility checker compares an old and a new node. Consumers iterate FAMILIES (index.ts)
 * instead of naming keywords, so adding a keyword touches its family module (and fixtures) only.
 * The structural walks (recursion into subschemas, `$ref`, unions) stay with their consumers.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { RuleId } from '../compat/rules.ts';
import type { JsonSchema } from '../registry.ts';

export const NonNegativeInt = Type.Integer({ minimum: 0 });
/** A JSON scalar (enum and const values, warehouse column defaults). */
export const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

export const TYPE_NAMES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] as const;
export type TypeName = (typeof TYPE_NAMES)[number];

/** A problem the loader reports at `pointer` (relative to the node) — joined with the node's. */
export interface KeywordIssue {
  at?: string;
  message: string;
}

/** One entry of the catalogue's "bounds" cell; `rank` orders it among every family's entries. */
export interface CatalogueBound {
  rank: number;
  text: string;
}

/** Reports a compatibility finding at `pointer` (absolute, in the new schema). */
export type Push = (rule: RuleId, pointer: string, message: string) => void;

/** A subschema's place below a node, as pointer segments (`['items']`, `['properties', 'sku']`). */
export type Path = readonly (string | number)[];

/** What the producer comparison (codegen/compat/producer.ts) lends a family's `compare`. */
export interface CompareContext {
  /** Types both the old and the new node accept (`integer` included when both accept `number`). */
  shared: ReadonlySet<TypeName>;
  /**
   * Compares the old subschema at `oldPath` (undefined: any value was accepted there) with the new
   * one at `newPath`, through the structural walk (`$ref`, unions, recursion).
   */
  sub(oldPath: Path | undefined, newPath: Path): void;
}

export interface KeywordFamily<K extends string> {
  /**
   * Allowed keywords with their meta-schema entries (codegen/meta-schema.ts spreads them); a
   * function of the recursive schema node when the keywords hold subschemas.
   */
  meta: { [k in K]: TSchema } | ((node: TSchema) => { [k in K]: TSchema });
  /** Keywords that only annotate: changing them never changes what is accepted. */
  annotations: readonly K[];
  /** Keywords whose changes the compatibility checker decides (the rest of `meta` minus annotations). */
  assertions: readonly K[];
  /** Whether the node's own keywords bound its values, so no family asks it for bounds. */
  bounds?(node: JsonSchema): boolean;
  /** Bound policy (enforced on registry files): missing bounds on a node of the family's type. */
  boundIssues?(node: JsonSchema, types: readonly string[]): KeywordIssue[];
  /** Shape rules (always checked), reported before the loader walks into the node's subschemas. */
  shapeIssues?(node: JsonSchema): KeywordIssue[];
  /**
   * Consistency the meta-schema cannot express (always checked): bounds that contradict each
   * other, then keyword values that do not parse. The loader runs every family's bound conflicts
   * before any family's syntax issues.
   */
  boundConflicts?(node: JsonSchema): KeywordIssue[];
  syntaxIssues?(node: JsonSchema): KeywordIssue[];
  /** The catalogue's rendering of the family's keywords on `node`. */
  catalogue?(node: JsonSchema): CatalogueBound[];
  /** The value types the family constrains: `compare` runs when old and new share one (absent: always). */
  types?: readonly TypeName[];
  /**
   * Compatibility: every way `nn` rejects values of the family's type that `on` accepted, given
   * that both accept that type. `at(keyword)` is the keyword's pointer in the new schema.
   */
  compare?(on: JsonSchema, nn: JsonSchema, at: (keyword: K) => string, push: Push, ctx: CompareContext): void;
  /** Whether `nn`'s own keyword (a new `const`) decided the comparison, so no later family compares. */
  decides?(nn: JsonSchema): boolean;
  /** The rule a finite old value rejected by one of the keywords (ajv's error keyword) falls under. */
  valueRules: { [k in K]?: RuleId };
}
