/**
 * Producer direction: does the new schema accept every value the old one accepted?
 *
 * The comparison is structural and conservative: when it reports nothing, every old value is
 * accepted (for the keywords it knows); when it cannot tell — an unknown keyword, a `$ref` into
 * the middle of a file — it throws Undecided so the check fails closed. Finite old value sets
 * (`enum`, `const`) are decided exactly by validating each value against the new schema with ajv.
 */
import type { JsonSchema } from '../registry.ts';
import { STRING } from '../vocabulary/string.ts';
import type { RuleId } from './rules.ts';
import { joinPointer, type Side } from './side.ts';

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

/** Keywords that only annotate: changing them never changes what is accepted. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'deprecated',
  'examples',
  'default',
  'x-pii',
  '$schema',
  '$id',
  'x-owner',
  ...STRING.annotations,
]);
/** Keywords this checker compares. Anything else is unclassified and fails the check closed. */
const ASSERTIONS = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  ...STRING.assertions,
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'anyOf',
  'oneOf',
  'allOf',
]);
export const CLASSIFIED_KEYWORDS: ReadonlySet<string> = new Set([...ANNOTATIONS, ...ASSERTIONS]);

type TypeName = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';
const ALL_TYPES: TypeName[] = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];
const ANY: JsonSchema = {};

const covers = (types: Set<TypeName>, t: TypeName) => types.has(t) || (t === 'integer' && types.has('number'));
const show = (v: unknown) => JSON.stringify(v);

function declaredTypes(node: JsonSchema): Set<TypeName> {
  if (node.type === undefined) return new Set(ALL_TYPES);
  return new Set((Array.isArray(node.type) ? node.type : [node.type]) as TypeName[]);
}

function valueType(v: unknown): TypeName {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as TypeName;
}

function finiteValues(node: JsonSchema): unknown[] | undefined {
  if (node.const !== undefined) return [node.const];
  if (node.enum) return node.enum;
  // Booleans and null are finite too: `boolean` ⊆ `enum: [true, false]` is decided by value.
  const declared = node.type === undefined ? undefined : Array.isArray(node.type) ? node.type : [node.type];
  if (declared?.every((t) => t === 'boolean' || t === 'null'))
    return declared.flatMap((t) => (t === 'boolean' ? [true, false] : [null]));
  return undefined;
}

/** Types a node can produce, considering enum/const. */
function producedTypes(node: JsonSchema): Set<TypeName> {
  const values = finiteValues(node);
  if (values) return new Set(values.map(valueType));
  return declaredTypes(node);
}

function typesOverlap(a: Set<TypeName>, b: Set<TypeName>): boolean {
  for (const t of a) if (covers(b, t) || (t === 'number' && b.has('integer'))) return true;
  return false;
}

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
  const ownKeys = Object.keys(own).filter((k) => !ANNOTATIONS.has(k));
  const overlap = ownKeys.some((k) => k in part.node) || part.node.$ref !== undefined;
  return overlap || ownKeys.length === 0 ? part : { ...part, node: { ...own, ...part.node }, synthetic: true };
}

/** Effective lower (or upper) bound: the tighter of the inclusive and exclusive keyword. */
function bound(node: JsonSchema, side: 'min' | 'max'): { value: number; exclusive: boolean } | undefined {
  const incl = side === 'min' ? node.minimum : node.maximum;
  const excl = side === 'min' ? node.exclusiveMinimum : node.exclusiveMaximum;
  if (incl === undefined && excl === undefined) return undefined;
  if (incl === undefined) return { value: excl as number, exclusive: true };
  if (excl === undefined) return { value: incl, exclusive: false };
  const exclTighter = side === 'min' ? excl >= incl : excl <= incl;
  return exclTighter ? { value: excl, exclusive: true } : { value: incl, exclusive: false };
}

function isMultiple(value: number, divisor: number): boolean {
  const q = value / divisor;
  return Math.abs(q - Math.round(q)) < 1e-9;
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
    for (const kw of ['anyOf', 'oneOf'] as const) {
      if (n.node[kw]) return [...this.compare(o, without(n, kw)), ...this.#againstUnion(o, n, kw)];
    }
    for (const kw of ['anyOf', 'oneOf'] as const) {
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
    for (const kw of ['anyOf', 'oneOf'] as const) {
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

  #compareNodes(o: Loc, n: Loc): Issue[] {
    const on = o.node;
    const nn = n.node;
    const at = (...segments: (string | number)[]) => joinPointer(n.pointer, ...segments);
    const issues: Issue[] = [];
    const push = (rule: RuleId, pointer: string, message: string) =>
      issues.push(this.#issue(rule, n, pointer, message));

    if (nn.const !== undefined) {
      push('EVENT_CONST_ADDED', at('const'), `only ${show(nn.const)} is accepted now; any value was accepted before`);
      return issues;
    }
    if (nn.enum !== undefined) {
      push(
        'EVENT_ENUM_ADDED',
        at('enum'),
        `only ${nn.enum.map(show).join(', ')} are accepted now; the value was free before`,
      );
      return issues;
    }

    const oTypes = declaredTypes(on);
    const nTypes = declaredTypes(nn);
    const lost = [...oTypes].filter((t) => !covers(nTypes, t));
    if (lost.length > 0) {
      const kept = typesOverlap(oTypes, nTypes);
      push(
        kept ? 'EVENT_TYPE_NARROWED' : 'EVENT_TYPE_CHANGED',
        at('type'),
        `type ${[...nTypes].join('|')} no longer accepts ${lost.join('|')} values (was ${on.type === undefined ? 'any type' : [...oTypes].join('|')})`,
      );
    }
    const shared = new Set([...oTypes].filter((t) => covers(nTypes, t)));

    if (shared.has('string')) STRING.compare(on, nn, at, push);

    if (shared.has('number') || shared.has('integer')) {
      const lo = bound(on, 'min');
      const hi = bound(on, 'max');
      if (nn.minimum !== undefined && (lo === undefined || lo.value < nn.minimum))
        push('EVENT_MINIMUM_INCREASED', at('minimum'), `minimum ${lo ? lo.value : 'none'} → ${nn.minimum}`);
      if (
        nn.exclusiveMinimum !== undefined &&
        (lo === undefined || lo.value < nn.exclusiveMinimum || (lo.value === nn.exclusiveMinimum && !lo.exclusive))
      )
        push(
          'EVENT_EXCLUSIVE_MINIMUM_INCREASED',
          at('exclusiveMinimum'),
          `lower bound ${lo ? `${lo.exclusive ? '>' : '≥'} ${lo.value}` : 'none'} → > ${nn.exclusiveMinimum}`,
        );
      if (nn.maximum !== undefined && (hi === undefined || hi.value > nn.maximum))
        push('EVENT_MAXIMUM_DECREASED', at('maximum'), `maximum ${hi ? hi.value : 'none'} → ${nn.maximum}`);
      if (
        nn.exclusiveMaximum !== undefined &&
        (hi === undefined || hi.value > nn.exclusiveMaximum || (hi.value === nn.exclusiveMaximum && !hi.exclusive))
      )
        push(
          'EVENT_EXCLUSIVE_MAXIMUM_DECREASED',
          at('exclusiveMaximum'),
          `upper bound ${hi ? `${hi.exclusive ? '<' : '≤'} ${hi.value}` : 'none'} → < ${nn.exclusiveMaximum}`,
        );
      if (nn.multipleOf !== undefined) {
        const integersOnly = !shared.has('number');
        const fine =
          (on.multipleOf !== undefined && isMultiple(on.multipleOf, nn.multipleOf)) ||
          (integersOnly && isMultiple(1, nn.multipleOf));
        if (!fine)
          push(
            'EVENT_MULTIPLE_OF_CHANGED',
            at('multipleOf'),
            `multipleOf ${on.multipleOf ?? 'none'} → ${nn.multipleOf}`,
          );
      }
    }

    if (shared.has('array')) {
      if (nn.items !== undefined) {
        const oldItems: Loc = on.items
          ? { node: on.items as JsonSchema, base: o.base, pointer: joinPointer(o.pointer, 'items') }
          : { node: ANY, base: o.base, pointer: o.pointer, synthetic: true };
        issues.push(...this.compare(oldItems, { node: nn.items as JsonSchema, base: n.base, pointer: at('items') }));
      }
      if (nn.maxItems !== undefined && (on.maxItems === undefined || nn.maxItems < on.maxItems))
        push('EVENT_MAX_ITEMS_DECREASED', at('maxItems'), `maxItems ${on.maxItems ?? 'none'} → ${nn.maxItems}`);
      if (nn.minItems !== undefined && nn.minItems > (on.minItems ?? 0))
        push('EVENT_MIN_ITEMS_INCREASED', at('minItems'), `minItems ${on.minItems ?? 'none'} → ${nn.minItems}`);
      if (nn.uniqueItems === true && on.uniqueItems !== true)
        push('EVENT_UNIQUE_ITEMS_ADDED', at('uniqueItems'), 'arrays with repeated items are rejected now');
    }

    if (shared.has('object')) issues.push(...this.#compareObjects(o, n, push));
    return issues;
  }

  #compareObjects(o: Loc, n: Loc, push: (rule: RuleId, pointer: string, message: string) => void): Issue[] {
    const on = o.node;
    const nn = n.node;
    const issues: Issue[] = [];
    const oldProps = on.properties ?? {};
    const newProps = nn.properties ?? {};
    const oldRequired = new Set(on.required ?? []);
    // Each newly required name is its own place (/required/<i>): a finding, and an allowlist entry,
    // for one property must not cover a property made required later.
    (nn.required ?? []).forEach((name, i) => {
      if (oldRequired.has(name)) return;
      if (Object.hasOwn(oldProps, name))
        push(
          'EVENT_OPTIONAL_MADE_REQUIRED',
          joinPointer(n.pointer, 'required', i),
          `optional property "${name}" is required now; old events without it are rejected`,
        );
      else
        push(
          'EVENT_REQUIRED_ADDED',
          joinPointer(n.pointer, 'required', i),
          `new property "${name}" is required; old events do not send it`,
        );
    });
    const oldClosed = on.additionalProperties === false;
    const newClosed = nn.additionalProperties === false;
    if (newClosed && !oldClosed)
      push(
        'EVENT_ADDITIONAL_PROPERTIES_CLOSED',
        joinPointer(n.pointer, 'additionalProperties'),
        'properties not listed in the schema are rejected now',
      );
    for (const [name, sub] of Object.entries(oldProps)) {
      if (Object.hasOwn(newProps, name)) {
        issues.push(
          ...this.compare(
            { node: sub as JsonSchema, base: o.base, pointer: joinPointer(o.pointer, 'properties', name) },
            { node: newProps[name] as JsonSchema, base: n.base, pointer: joinPointer(n.pointer, 'properties', name) },
          ),
        );
      } else if (newClosed) {
        push(
          'EVENT_PROPERTY_REMOVED',
          joinPointer(n.pointer, 'properties'),
          `property "${name}" was removed; old events that send it are rejected`,
        );
      }
    }
    if (!oldClosed) {
      // Under an open object any value was accepted for an unlisted property.
      for (const [name, sub] of Object.entries(newProps)) {
        if (Object.hasOwn(oldProps, name)) continue;
        issues.push(
          ...this.compare(
            { node: ANY, base: o.base, pointer: o.pointer, synthetic: true },
            { node: sub as JsonSchema, base: n.base, pointer: joinPointer(n.pointer, 'properties', name) },
          ),
        );
      }
    }
    if (nn.maxProperties !== undefined && (on.maxProperties === undefined || nn.maxProperties < on.maxProperties))
      push(
        'EVENT_MAX_PROPERTIES_DECREASED',
        joinPointer(n.pointer, 'maxProperties'),
        `maxProperties ${on.maxProperties ?? 'none'} → ${nn.maxProperties}`,
      );
    if (nn.minProperties !== undefined && nn.minProperties > (on.minProperties ?? 0))
      push(
        'EVENT_MIN_PROPERTIES_INCREASED',
        joinPointer(n.pointer, 'minProperties'),
        `minProperties ${on.minProperties ?? 'none'} → ${nn.minProperties}`,
      );
    return issues;
  }
}

/** Which rule a rejected enum/const value falls under, by the ajv keyword that rejected it. */
const VALUE_RULES: Record<string, RuleId> = {
  enum: 'EVENT_ENUM_VALUE_REMOVED',
  const: 'EVENT_ENUM_VALUE_REMOVED',
  type: 'EVENT_TYPE_NARROWED',
  ...STRING.valueRules,
  minimum: 'EVENT_MINIMUM_INCREASED',
  maximum: 'EVENT_MAXIMUM_DECREASED',
  exclusiveMinimum: 'EVENT_EXCLUSIVE_MINIMUM_INCREASED',
  exclusiveMaximum: 'EVENT_EXCLUSIVE_MAXIMUM_DECREASED',
  multipleOf: 'EVENT_MULTIPLE_OF_CHANGED',
  anyOf: 'EVENT_UNION_BRANCH_REMOVED',
  oneOf: 'EVENT_UNION_BRANCH_REMOVED',
};

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
