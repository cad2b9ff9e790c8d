/**
 * What the warehouse can store — one definition, shared by ingest (which acknowledges only
 * storable events) and the ETL (which quarantines any lake line that is not, since the lake may
 * hold lines from older or foreign writers). Its parts:
 *
 * - each column's type and exact input form: the generated validators, since codegen proves every
 *   mapped value fits its column and codegen/formats.ts narrows `uuid` and `date-time` to what
 *   PostgreSQL's uuid and timestamptz accept;
 * - every string, object key included: no U+0000 (PostgreSQL text, varchar and jsonb cannot hold
 *   it) and no unpaired surrogate (UTF-8 cannot encode it) — `findUnstorable` below;
 * - server-set strings (user agent, token subject): made storable or refused where they enter.
 *
 * Strings are checked as parsed values, never as JSON text: the text `\\u0000` (an escaped
 * backslash, then `u0000`) is a storable six-character string.
 */
import { escapePointer } from './json-pointer.ts';

/**
 * Lengths of the server-set strings, in code points: schemas/common/enrichment.json's maxLength
 * of `user_id` and `user_agent` (storable.test.ts holds them equal). Spelled out rather than
 * imported because importing the schema would put all of it into the ingest Lambda bundle.
 */
export const MAX_USER_ID_CHARS = 128;
export const MAX_USER_AGENT_CHARS = 512;

/** One reason a value cannot be stored; `path` is a JSON pointer. */
export interface Unstorable {
  path: string;
  rule: 'unstorable_character';
  message: string;
}

const LONE_SURROGATE_SOURCE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);
const LONE_SURROGATES = new RegExp(LONE_SURROGATE_SOURCE, 'g');
/** Any surrogate: a plain class scans ~10x faster than the lookaround form, and most text has none. */
const ANY_SURROGATE = /[\ud800-\udfff]/;

/** Whether `s` holds a character no warehouse string column can store. */
export function isUnstorableString(s: string): boolean {
  return s.includes('\u0000') || (ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s));
}

/**
 * Cheap gate on the JSON text a value was parsed from: false proves no string in it is
 * unstorable. NUL and lone surrogates reach JSON.parse only as `\u` escapes — or, in a text that
 * was not decoded from UTF-8 (a JavaScript string handed over as is), as raw surrogates.
 */
export function mayHoldUnstorable(jsonText: string, decodedFromUtf8: boolean): boolean {
  if (jsonText.includes('\\u')) return true;
  return !decodedFromUtf8 && ANY_SURROGATE.test(jsonText) && LONE_SURROGATE.test(jsonText);
}

/** The first unstorable string or key in a parsed JSON value, or undefined. Iterative: any depth. */
export function findUnstorable(value: unknown): Unstorable | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [node, path] = stack.pop() as [unknown, string];
    if (typeof node === 'string') {
      if (isUnstorableString(node)) return unstorable(path);
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}/${i}`]);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        const childPath = `${path}/${escapePointer(key)}`;
        if (isUnstorableString(key)) return unstorable(childPath);
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** `s` cut to at most `max` code points, never inside a surrogate pair. */
export function truncateCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  let units = 0;
  for (let points = 0; points < max && units < s.length; points++) {
    const code = s.charCodeAt(units);
    units += code >= 0xd800 && code <= 0xdbff && (s.charCodeAt(units + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return s.slice(0, units);
}

/** A server-derived string made storable: NUL removed, lone surrogates replaced by U+FFFD. */
export function toStorableString(s: string): string {
  return isUnstorableString(s) ? s.replaceAll('\u0000', '').replace(LONE_SURROGATES, '\ufffd') : s;
}

function unstorable(path: string): Unstorable {
  return {
    path,
    rule: 'unstorable_character',
    message: 'strings must not contain NUL or unpaired surrogates',
  };
}
