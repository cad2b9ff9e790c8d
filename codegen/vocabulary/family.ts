/**
 * A keyword family (ajv style): one module declares everything the project knows about a group of
 * JSON Schema keywords — which are allowed (the meta-schema entries), which only annotate, the
 * loader's bound policy and consistency checks, how the catalogue shows them and how the
 * compatibility checker compares an old and a new node. Consumers iterate the family instead of
 * naming its keywords, so adding a keyword touches its family module (and fixtures) only.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { RuleId } from '../compat/rules.ts';
import type { JsonSchema } from '../registry.ts';

export const NonNegativeInt = Type.Integer({ minimum: 0 });

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

export interface KeywordFamily<K extends string> {
  /** Allowed keywords with their meta-schema entries (codegen/meta-schema.ts spreads them). */
  meta: { [k in K]: TSchema };
  /** Keywords that only annotate: changing them never changes what is accepted. */
  annotations: readonly K[];
  /** Keywords whose changes the compatibility checker decides (the rest of `meta` minus annotations). */
  assertions: readonly K[];
  /** Bound policy (enforced on registry files): missing bounds on a node of the family's type. */
  boundIssues(node: JsonSchema, types: readonly string[]): KeywordIssue[];
  /**
   * Consistency the meta-schema cannot express (always checked): bounds that contradict each
   * other, then keyword values that do not parse. The loader runs every family's bound conflicts
   * before any family's syntax issues.
   */
  boundConflicts(node: JsonSchema): KeywordIssue[];
  syntaxIssues(node: JsonSchema): KeywordIssue[];
  /** The catalogue's rendering of the family's keywords on `node`. */
  catalogue(node: JsonSchema): CatalogueBound[];
  /**
   * Compatibility: every way `nn` rejects values of the family's type that `on` accepted, given
   * that both accept that type. `at(keyword)` is the keyword's pointer in the new schema.
   */
  compare(on: JsonSchema, nn: JsonSchema, at: (keyword: K) => string, push: Push): void;
  /** The rule a finite old value rejected by one of the keywords (ajv's error keyword) falls under. */
  valueRules: { [k in K]?: RuleId };
}
