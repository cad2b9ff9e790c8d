/**
 * Every keyword family, in the order consumers apply them: the combinators first (a new `const`
 * or `enum` decides a comparison alone), then string, number, array and object (the loader's
 * bound issues come out in this order), then the annotations.
 */
import type { RuleId } from '../compat/rules.ts';
import { ANNOTATIONS, FILE_ANNOTATIONS } from './annotations.ts';
import { ARRAY } from './array.ts';
import { COMBINATORS } from './combinators.ts';
import type { KeywordFamily } from './family.ts';
import { NUMBER } from './number.ts';
import { OBJECT } from './object.ts';
import { STRING } from './string.ts';

export const FAMILIES: readonly KeywordFamily<string>[] = [COMBINATORS, STRING, NUMBER, ARRAY, OBJECT, ANNOTATIONS];

/** Keywords that only annotate, on any node or a file's root. */
export const ANNOTATION_SET: ReadonlySet<string> = new Set([
  ...FAMILIES.flatMap((f) => f.annotations),
  ...FILE_ANNOTATIONS,
]);
/** Keywords the compatibility checker compares. */
export const ASSERTION_SET: ReadonlySet<string> = new Set(FAMILIES.flatMap((f) => f.assertions));

/** Which rule a finite old value rejected by an ajv keyword falls under. */
export const VALUE_RULES: Readonly<Record<string, RuleId>> = Object.assign({}, ...FAMILIES.map((f) => f.valueRules));
