/**
 * Producer direction: does the new schema accept every value the old one accepted?
 *
 * The comparison is structural and conservative: when it reports nothing, every old value is
 * accepted (for the keywords it knows); when it cannot tell — an unknown keyword, a `$ref` into
 * the middle of a file — it throws Undecided so the check fails closed. Finite old value sets
 * (`enum`, `const`) are decided exactly by validating each value against the new schema with ajv.
 * This module walks the structure (`$ref`, unions, `allOf`, finite values); each keyword family
 * (codegen/vocabulary/) compares its own keywords of a node pair and walks back in through `ctx.sub`.
 */
import { joinPointer } from '../../services/json-pointer.ts';
import type { JsonSchema } from '../registry.ts';
import {
  declaredTypes,
  finiteValues,
  producedTypes,
  sharedTypes,
  typesOverlap,
  UNIONS,
} from '../vocabulary/combinators.ts';
import type { CompareContext, Path } from '../vocabulary/family.ts';
import { ANNOTATION_SET, ASSERTION_SET, FAMILIES, VALUE_RULES } from '../vocabulary/index.ts';
import type { RuleId } from './rules.ts';
import type { Side } from './side.ts';

export interface Issue {
  rule: RuleId;
  file: string;
  pointer: string;
  message: string;
}

export class Undecided extends Error {
  constructor(
    readonly rule: 'UNCLASSIFIED_KEYWORD' | 'UNSUPPORTED_CONSTRUCT',
    readonly file: string,
    readonly pointer: string,
    message: string,
  ) {
    super(message);
  }
}

/** A node with where it lives; `synthetic` nodes were built by the checker (no real pointer). */
export interface Loc {
  node: JsonSchema;
  base: string;
  pointer: string;
  synthetic?: boolean;
}

/** Keywords the families classify. Anything else is unclassified and fails the check closed. */
export const CLASSIFIED_KEYWORDS: ReadonlySet<string> = new Set([...ANNOTATION_SET, ...ASSERTION_SET]);

const ANY: JsonSchema = {};
const show = (v: unknown) => JSON.stringify(v);

function without(loc: Loc, ...keys: (keyof JsonSchema)[]): Loc {
  const node = { ...loc.node };
  for (const k of keys) delete node[k];
  return { ...loc, node, synthetic: true };
}

/**
 * A value that matched both `own` and `part` (a union branch or an allOf member): the two merged
 * when they share no keyword — so `type` next to `anyOf` still narrows each branch — else `part`
 * alone, which accepts at least those values.
 */
function mergeOwn(own: JsonSchema, part: Loc): Loc {
  const ownKeys = Object.keys(own).filter((k) => !ANNOTATION_SET.has(k));
  const overlap = ownKeys.some((k) => k in part.node) || part.node.$ref !== undefined;
  return overlap || ownKeys.length === 0 ? part : { ...part, node: { ...own, ...part.node }, synthetic: true };
}

export class ProducerComparison {
  readonly #visiting = new Set<string>();

  constructor(
    readonly old: Side,
    readonly neu: Side,
  ) {}

  /** Every way in which `n` rejects values that `o` accepted. */
  compare(oIn: Loc, nIn: Loc): Issue[] {
    const o = this.#deref(this.old, oIn);
    const n = this.#deref(this.neu, nIn);
    const key = o.synthetic || n.synthetic ? undefined : `${o.base}#${o.pointer}|${n.base}#${n.pointer}`;
    if (key) {
      // A recursive shape compared against itself: assume compatible (co-induction).
      if (this.#visiting.has(key)) return [];
      this.#visiting.add(key);
    }
    try {
      return this.#compareDereffed(o, n);
    } finally {
      if (key) this.#visiting.delete(key);
    }
  }

  #deref(side: Side, loc: Loc): Loc {
    const file = side.fileOf(loc.base);
    if (loc.node.$ref !== undefined) {
      const url = new URL(loc.node.$ref, loc.base);
      if (url.hash !== '' && url.hash !== '#')
        throw new Undecided(
          'UNSUPPORTED_CONSTRUCT',
          file,
          joinPointer(loc.pointer, '$ref'),
          `$ref "${loc.node.$ref}" points inside a file; the checker compares whole-file references only`,
        );
    }
    for (const k of Object.keys(loc.node)) {
      if (!CLASSIFIED_KEYWORDS.has(k))
        throw new Undecided(
          'UNCLASSIFIED_KEYWORD',
          file,
          joinPointer(loc.pointer, k),
          `keyword "${k}" (in ${side.label}) is not known to the compatibility checker, so it cannot tell whether the change is safe`,
        );
    }
    if (loc.node.$ref === undefined) return loc;
    const target = side.index.deref({ node: loc.node, base: loc.base });
    return this.#deref(side, { node: target.node, base: target.base, pointer: '' });
  }

  #issue(rule: RuleId, n: Loc, pointer: string, message: string): Issue {
    return { rule, file: this.neu.fileOf(n.base), pointer, message };
  }

  #compareDereffed(o: Loc, n: Loc): Issue[] {
    const values = finiteValues(o.node);
    if (values && !n.synthetic) return this.#compareValues(o, n, values);
    if (n.node.allOf) return this.#againstAllOf(o, n);
    if (o.node.allOf) {
      const own = this.compare(without(o, 'allOf'), n);
      if (own.length === 0) return [];
      // Old values satisfied the own keywords and every member, so one of them (or own and a
      // member together) that the new schema accepts is enough.
      const ownNode = without(o, 'allOf').node;
      const members = o.node.allOf.map((m, i) =>
        mergeOwn(ownNode, { node: m as JsonSchema, base: o.base, pointer: joinPointer(o.pointer, 'allOf', i) }),
      );
      return members.some((m) => this.compare(m, n).length === 0) ? [] : own;
    }
    for (const kw of UNIONS) {
      if (n.node[kw]) return [...this.compare(o, without(n, kw)), ...this.#againstUnion(o, n, kw)];
    }
    for (const kw of UNIONS) {
      if (o.node[kw]) {
        const own = this.compare(without(o, kw), n);
        if (own.length === 0) return [];
        return this.#oldPieces(o).flatMap((piece) => this.compare(piece, n));
      }
    }
    return this.#compareNodes(o, n);
  }

  /** Old accepts a finite set: ask the new schema about each value. */
  #compareValues(o: Loc, n: Loc, values: unknown[]): Issue[] {
    const issues: Issue[] = [];
    for (const value of values) {
      if (!o.synthetic && !this.old.accepts(o.base, o.pointer, value).ok) continue;
      const verdict = this.neu.accepts(n.base, n.pointer, value);
      if (verdict.ok) continue;
      const oldWasFree = o.node.enum === undefined && o.node.const === undefined;
      const rule =
        oldWasFree && verdict.keyword === 'const'
          ? 'EVENT_CONST_ADDED'
          : oldWasFree && verdict.keyword === 'enum'
            ? 'EVENT_ENUM_ADDED'
            : (VALUE_RULES[verdict.keyword ?? ''] ?? 'EVENT_ENUM_VALUE_REMOVED');
      const keyword = verdict.keyword;
      const pointer =
        keyword !== undefined && Object.hasOwn(n.node, keyword) ? joinPointer(n.pointer, keyword) : n.pointer;
      issues.push(
        this.#issue(
          rule,
          n,
          pointer,
          `value ${show(value)} was accepted and is now rejected (by ${keyword ?? 'the schema'})`,
        ),
      );
    }
    return issues;
  }

  /** New has allOf: old must satisfy the node's own keywords and every member. */
  #againstAllOf(o: Loc, n: Loc): Issue[] {
    const issues = this.compare(o, without(n, 'allOf'));
    (n.node.allOf ?? []).forEach((m, i) => {
      const member: Loc = { node: m as JsonSchema, base: n.base, pointer: joinPointer(n.pointer, 'allOf', i) };
      const before = o.node.allOf?.[i];
      if (before !== undefined) {
        const oldMember: Loc = {
          node: before as JsonSchema,
          base: o.base,
          pointer: joinPointer(o.pointer, 'allOf', i),
        };
        const direct = this.compare(o, member);
        if (direct.length > 0) issues.push(...this.compare(oldMember, member));
        return;
      }
      if (this.compare(o, member).length > 0)
        issues.push(
          this.#issue(
            'EVENT_ALLOF_MEMBER_ADDED',
            n,
            member.pointer,
            'a new allOf member adds constraints old events were not held to',
          ),
        );
    });
    return issues;
  }

  /** The pieces an old value can be: one per union branch, or one per declared type. */
  #oldPieces(o: Loc): Loc[] {
    for (const kw of UNIONS) {
      const branches = o.node[kw];
      if (!branches) continue;
      // An old value matched the node's own keywords AND one branch.
      const own = without(o, kw).node;
      return branches.map((b, i) =>
        mergeOwn(own, { node: b as JsonSchema, base: o.base, pointer: joinPointer(o.pointer, kw, i) }),
      );
    }
    const types = declaredTypes(o.node);
    if (o.node.type !== undefined && types.size > 1)
      return [...types].map((t) => ({ ...o, node: { ...o.node, type: t }, synthetic: true }));
    return [o];
  }

  #againstUnion(o: Loc, n: Loc, kw: 'anyOf' | 'oneOf'): Issue[] {
    const branches: Loc[] = (n.node[kw] ?? []).map((b, i) => ({
      node: b as JsonSchema,
      base: n.base,
      pointer: joinPointer(n.pointer, kw, i),
    }));
    const oldIsUnion = Boolean(o.node.anyOf ?? o.node.oneOf);
    const issues: Issue[] = [];
    this.#oldPieces(o).forEach((piece, i) => {
      if (branches.some((b) => this.compare(piece, b).length === 0)) return;
      const pieceTypes = producedTypes(this.#deref(this.old, piece).node);
      const candidates = branches.filter((b) => typesOverlap(pieceTypes, producedTypes(this.#deref(this.neu, b).node)));
      const positional = oldIsUnion ? branches[i] : undefined;
      const best =
        positional && candidates.includes(positional)
          ? positional
          : candidates.length === 1
            ? candidates[0]
            : undefined;
      if (best) {
        issues.push(...this.compare(piece, best));
        return;
      }
      if (!oldIsUnion && candidates.length === 0) {
        issues.push(
          this.#issue(
            'EVENT_TYPE_CHANGED',
            n,
            joinPointer(n.pointer, kw),
            `no ${kw} branch accepts old ${[...pieceTypes].join('|')} values`,
          ),
        );
        return;
      }
      issues.push(
        this.#issue(
          'EVENT_UNION_BRANCH_REMOVED',
          n,
          joinPointer(n.pointer, kw),
          `old values matching ${oldIsUnion ? `branch ${piece.pointer}` : [...pieceTypes].join('|')} match no ${kw} branch any more`,
        ),
      );
    });
    if (kw === 'oneOf') issues.push(...this.#oneOfOverlap(o, n, branches));
    return issues;
  }

  /**
   * oneOf rejects a value that matches two branches. A new overlap (branches that can match the
   * same value) rejects values the old schema accepted, unless the old oneOf already overlapped.
   */
  #oneOfOverlap(o: Loc, n: Loc, branches: Loc[]): Issue[] {
    const overlapping = (list: Loc[], side: Side) => {
      const nodes = list.map((b) => this.#deref(side, b).node);
      for (let i = 0; i < nodes.length; i++)
        for (let j = i + 1; j < nodes.length; j++)
          if (mayOverlap(nodes[i] as JsonSchema, nodes[j] as JsonSchema, side, list[i] as Loc, list[j] as Loc))
            return [i, j] as const;
      return undefined;
    };
    const pair = overlapping(branches, this.neu);
    if (!pair) return [];
    if (o.node.oneOf) {
      const old = o.node.oneOf.map((b, i) => ({
        node: b as JsonSchema,
        base: o.base,
        pointer: joinPointer(o.pointer, 'oneOf', i),
      }));
      if (overlapping(old, this.old)) return [];
    }
    return [
      this.#issue(
        'EVENT_ONEOF_OVERLAP',
        n,
        joinPointer(n.pointer, 'oneOf'),
        `oneOf branches ${pair[0]} and ${pair[1]} can match the same value, which oneOf then rejects; use anyOf or make the branches disjoint`,
      ),
    ];
  }

  /** The keyword families compare the two nodes; `ctx.sub` walks into their subschemas. */
  #compareNodes(o: Loc, n: Loc): Issue[] {
    const issues: Issue[] = [];
    const at = (keyword: string) => joinPointer(n.pointer, keyword);
    const push = (rule: RuleId, pointer: string, message: string) =>
      issues.push(this.#issue(rule, n, pointer, message));
    const ctx: CompareContext = {
      shared: sharedTypes(o.node, n.node),
      sub: (oldPath, newPath) => {
        const old: Loc = oldPath
          ? { node: below(o.node, oldPath), base: o.base, pointer: joinPointer(o.pointer, ...oldPath) }
          : { node: ANY, base: o.base, pointer: o.pointer, synthetic: true };
        issues.push(
          ...this.compare(old, {
            node: below(n.node, newPath),
            base: n.base,
            pointer: joinPointer(n.pointer, ...newPath),
          }),
        );
      },
    };
    for (const family of FAMILIES) {
      if (!family.compare || (family.types && !family.types.some((t) => ctx.shared.has(t)))) continue;
      family.compare(o.node, n.node, at, push, ctx);
      if (family.decides?.(n.node)) break;
    }
    return issues;
  }
}

/** The subschema at `path` below `node`. */
function below(node: JsonSchema, path: Path): JsonSchema {
  let at: unknown = node;
  for (const segment of path) at = (at as Record<string | number, unknown>)[segment];
  return at as JsonSchema;
}

/**
 * Whether two oneOf branches can accept the same value. Object branches with a shared required
 * property whose values are disjoint (a discriminator) cannot.
 */
function mayOverlap(a: JsonSchema, b: JsonSchema, side: Side, la: Loc, lb: Loc): boolean {
  const va = finiteValues(a);
  const vb = finiteValues(b);
  if (va && vb) return va.some((x) => vb.some((y) => JSON.stringify(x) === JSON.stringify(y)));
  if (!typesOverlap(producedTypes(a), producedTypes(b))) return false;
  if (producedTypes(a).size === 1 && producedTypes(a).has('object') && producedTypes(b).size === 1) {
    for (const key of a.required ?? []) {
      if (!(b.required ?? []).includes(key)) continue;
      const pa = a.properties?.[key];
      const pb = b.properties?.[key];
      if (!pa || !pb) continue;
      const da = side.index.deref({ node: pa as JsonSchema, base: la.base }).node;
      const db = side.index.deref({ node: pb as JsonSchema, base: lb.base }).node;
      if (!mayOverlap(da, db, side, la, lb)) return false;
    }
  }
  return true;
}
