/**
 * Format checks of the event contract, faster forms of the ones FORMAT_MODES (codegen/ajv.ts)
 * names, accepting exactly the same strings; runtime ajv and the generated validators both use
 * them (codegen/formats.test.ts compares each with its original on edge-string corpora).
 * No imports: codegen copies this file into generated/validators/_runtime.ts.
 */

/**
 * `date-time` (FORMAT_MODES `full+fast`): ajv-formats' full check behind one regular expression
 * for the form trackers send (`2026-11-26T12:00:00.000Z`, a numeric offset, any fraction): a string that regex matches with a
 * day that exists in its month is one the full check accepts, so answering `true` there changes
 * nothing; every other string (leap seconds, a space separator, 29 February, garbage) goes to the
 * full check. The full `date-time` splits the string and runs two regexes and the numeric checks:
 * ~7% of ingest's processing. codegen/formats.test.ts compares both on an edge-string corpus.
 */
export function fastDateTime(full: (s: string) => boolean): (s: string) => boolean {
  const FAST =
    /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)$/;
  // Days per month, February as in a common year: 29 February is left to the full check.
  const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return function dateTime(s: string): boolean {
    if (FAST.test(s)) {
      const day = (s.charCodeAt(8) - 48) * 10 + s.charCodeAt(9) - 48;
      if (day <= 28 || day <= (DAYS[(s.charCodeAt(5) - 48) * 10 + s.charCodeAt(6) - 48] as number)) return true;
    }
    return full(s);
  };
}

/** ajv-formats' `date-time` definition (`{ validate, compare }`) with the fast path in front. */
export function fastDateTimeFormat(full: unknown): { validate: (s: string) => boolean; compare?: unknown } {
  const def = full as { validate: (s: string) => boolean; compare?: unknown };
  return { ...def, validate: fastDateTime(def.validate) };
}

const isHex = (c: number) => (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);

/**
 * The `uuid` format (STORABLE_FORMATS.uuid in codegen/ajv.ts, `/^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-
 * [0-9a-f]{12}$/i`) as a character loop, ≈1.6× faster than the regex; same strings
 * (codegen/formats.test.ts).
 */
export function isCanonicalUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

/** JavaScript's `\s`: the characters a `uri` may not contain. */
function isSpace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) ||
    c === 32 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * ajv-formats' fast `uri` (`/^(?:[a-z][a-z0-9+\-.]*:)(?:\/?\/)?[^\s]*$/i`: a scheme, then no
 * whitespace) as a character loop; same strings (codegen/formats.test.ts).
 */
export function isSchemeUri(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  const first = s.charCodeAt(0) | 32;
  if (first < 97 || first > 122) return false;
  let i = 1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) break;
    const l = c | 32;
    if (!((l >= 97 && l <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return false;
  }
  if (i === n) return false;
  for (i++; i < n; i++) if (isSpace(s.charCodeAt(i))) return false;
  return true;
}
