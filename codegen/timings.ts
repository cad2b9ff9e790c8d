/**
 * Where a codegen run spends its time, for `npm run bench:codegen`: milliseconds per part, summed
 * over its calls. `npm run codegen -- --timings` prints them as JSON on stderr.
 */
export type Part =
  | 'registry load (ajv)'
  | 'ajv standalone'
  | 'json-schema-to-typescript'
  | 'other generators'
  | 'Prettier (worker)'
  | 'Prettier wait'
  | 'drizzle-kit (child)'
  | 'drizzle-kit wait';

export const timings: Partial<Record<Part, number>> = {};

/** Runs `fn` and adds its wall time to `part`; callers run one at a time, so parts do not overlap. */
export async function timed<T>(part: Part, fn: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timings[part] = (timings[part] ?? 0) + performance.now() - started;
  }
}
