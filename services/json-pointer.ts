/**
 * JSON pointers (RFC 6901): the one place that escapes a segment. Services use it for the paths
 * of rejected values, codegen for the pointers in its messages and findings — the only module
 * codegen imports from services/, so it imports nothing itself (services never import codegen/).
 */

/** One JSON pointer segment: `~` as `~0`, `/` as `~1`. */
export function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** `pointer` followed by `segments`, each escaped. */
export const joinPointer = (pointer: string, ...segments: (string | number)[]): string =>
  pointer + segments.map((s) => `/${escapePointer(String(s))}`).join('');
