/**
 * The event contract's `date-time` format (FORMAT_MODES `full+fast` in codegen/ajv.ts, used by
 * runtime ajv and the generated validators): ajv-formats' full check behind one regular
 * expression for the form trackers send
 * (`2026-11-26T12:00:00.000Z`, a numeric offset, any fraction): a string that regex matches with a
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
