/**
 * Where each event of a batch is in the request text, so a lake line can be built from the text
 * as received instead of `JSON.stringify` of the parsed event (which was the largest part of the
 * core's cost, P1). Used only where that is byte-identical:
 *
 *   scanBatch(text) → (EventSpan | undefined)[] | undefined
 *     one entry per element of the batch's `events` array (undefined: that event's text is not
 *     canonical); undefined as a whole when the `events` array cannot be told apart for sure.
 *   countKeys(value) → keys of a parsed value at every depth (compared with EventSpan.keys)
 *
 * An event's text is *canonical* when it is exactly what `JSON.stringify` writes for its parsed
 * value, provided its keys are unique (the caller checks: `keys` is the number of keys the text
 * holds at every depth, compared with the parsed value's): no whitespace between tokens, string
 * escapes only where and as JSON.stringify writes them (`\"`, `\\`, `\b\f\n\r\t`, `\u00xx` for
 * the other control characters), numbers spelled as JavaScript prints them (`1`, `0.5`, not `1.0`,
 * `1e2`, `-0`), and no key starting with a digit (JSON.parse puts array-index keys first). Events
 * nested deeper than MAX_DEPTH are never canonical, so the caller's own walk stays shallow.
 *
 * `text` must be valid JSON (the caller parsed it first); anything unexpected ends in `undefined`.
 */

export interface EventSpan {
  /** The event's text is `text.slice(start, end)`, from `{` to `}`. */
  start: number;
  end: number;
  /** Keys in the text at every depth (a duplicate key makes this larger than the parsed value's). */
  keys: number;
  /** The string token (quotes included) of the top-level `event_timestamp`, or -1. */
  timestampStart: number;
  timestampEnd: number;
  /** The string token of the top-level `event_id`, or -1. */
  idStart: number;
  idEnd: number;
}

/** Depth of nesting a canonical span may have (at most 30: one bit per depth). */
export const MAX_DEPTH = 30;

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;

const isWhitespace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** Single-character escapes JSON.stringify writes: `"` `\` b f n r t. */
const SHORT_ESCAPES = new Set([QUOTE, BACKSLASH, 98, 102, 110, 114, 116]);
/** Control characters JSON.stringify writes as `\b \t \n \f \r`, never as `\u00xx`. */
const SHORT_CONTROLS = new Set([8, 9, 10, 12, 13]);
const LOWER_HEX = /^[0-9a-f]{2}$/;

class Scanner {
  pos = 0;

  constructor(readonly text: string) {}

  /**
   * From the opening quote at `pos`, moves past the closing quote; returns whether the string's
   * escapes are canonical.
   */
  /** Position of the next backslash at or after the scan (text.length if none): one indexOf per escape. */
  private nextBackslash = -1;

  string(): boolean {
    const text = this.text;
    let i = this.pos + 1;
    let canonical = true;
    for (;;) {
      const quote = text.indexOf('"', i);
      if (quote < 0) throw new SyntaxError('unterminated string');
      if (this.nextBackslash < i) {
        const b = text.indexOf('\\', i);
        this.nextBackslash = b < 0 ? text.length : b;
      }
      if (this.nextBackslash > quote) {
        this.pos = quote + 1;
        return canonical;
      }
      const b = this.nextBackslash;
      const c = text.charCodeAt(b + 1);
      if (c === 117) {
        const hex = text.slice(b + 4, b + 6);
        const code = Number.parseInt(hex, 16);
        if (text.charCodeAt(b + 2) !== ZERO || text.charCodeAt(b + 3) !== ZERO || !LOWER_HEX.test(hex)) {
          canonical = false;
        } else if (code >= 0x20 || SHORT_CONTROLS.has(code)) {
          canonical = false;
        }
        i = b + 6;
      } else {
        if (!SHORT_ESCAPES.has(c)) canonical = false;
        i = b + 2;
      }
    }
  }

  skipWhitespace(): void {
    while (isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  /** Moves past one value of any kind, starting at `pos`. */
  skipValue(): void {
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    if (c === QUOTE) {
      this.string();
      return;
    }
    if (c !== LBRACE && c !== LBRACKET) {
      while (this.pos < text.length && !isEnd(text.charCodeAt(this.pos))) this.pos++;
      return;
    }
    let depth = 0;
    do {
      const d = text.charCodeAt(this.pos);
      if (d === QUOTE) {
        this.string();
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) depth--;
      this.pos++;
    } while (depth > 0 && this.pos < text.length);
  }

  /** One event object starting at `pos`: its span if canonical; `pos` ends after it either way. */
  event(): EventSpan | undefined {
    const text = this.text;
    const start = this.pos;
    let depth = 0;
    /** Bit d set: the container at depth d is an object (a key comes next after `{` or `,`). */
    let objects = 0;
    let expectKey = false;
    let keys = 0;
    let timestampStart = -1;
    let timestampEnd = -1;
    let idStart = -1;
    let idEnd = -1;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === QUOTE) {
        const at = this.pos;
        if (!this.string()) return this.abandon(start);
        if (!expectKey) continue;
        keys++;
        expectKey = false;
        const first = text.charCodeAt(at + 1);
        if (first >= ZERO && first <= NINE) return this.abandon(start);
        if (text.charCodeAt(this.pos) !== COLON) return this.abandon(start);
        this.pos++;
        if (depth !== 1 || text.charCodeAt(this.pos) !== QUOTE) continue;
        const len = this.pos - 1 - at;
        const name =
          len === 17 && text.startsWith('"event_timestamp"', at)
            ? 1
            : len === 10 && text.startsWith('"event_id"', at)
              ? 2
              : 0;
        if (name === 0) continue;
        const valueStart = this.pos;
        if (!this.string()) return this.abandon(start);
        if (name === 1) {
          timestampStart = valueStart;
          timestampEnd = this.pos;
        } else {
          idStart = valueStart;
          idEnd = this.pos;
        }
      } else if (c === LBRACE || c === LBRACKET) {
        if (++depth > MAX_DEPTH) return this.abandon(start);
        expectKey = c === LBRACE;
        objects = expectKey ? objects | (1 << depth) : objects & ~(1 << depth);
        this.pos++;
      } else if (c === RBRACE || c === RBRACKET) {
        this.pos++;
        if (--depth === 0) return { start, end: this.pos, keys, timestampStart, timestampEnd, idStart, idEnd };
        expectKey = false;
      } else if (c === COMMA) {
        expectKey = (objects & (1 << depth)) !== 0;
        this.pos++;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const from = this.pos;
        let plain = true;
        for (let d = c; this.pos < text.length && !isEnd(d); d = text.charCodeAt(++this.pos)) {
          if (d < ZERO || d > NINE) plain = plain && d === MINUS && this.pos === from;
        }
        const digits = this.pos - from - (c === MINUS ? 1 : 0);
        // Plain integers of up to 15 digits print back as written, unless they have a leading zero or are -0.
        const first = text.charCodeAt(c === MINUS ? from + 1 : from);
        if (!(plain && digits <= 15 && (first !== ZERO || (digits === 1 && c !== MINUS)))) {
          const token = text.slice(from, this.pos);
          if (String(Number(token)) !== token) return this.abandon(start);
        }
      } else if (c === 116 || c === 110) {
        this.pos += 4; // true, null
      } else if (c === 102) {
        this.pos += 5; // false
      } else {
        // Whitespace between tokens (or anything unexpected): not what JSON.stringify writes.
        return this.abandon(start);
      }
    }
  }

  private abandon(start: number): undefined {
    this.pos = start;
    // Back to before the cached backslash position: it may have skipped escapes in between.
    this.nextBackslash = -1;
    this.skipValue();
    return undefined;
  }
}

/**
 * Keys of a parsed JSON value at every depth: equal to a canonical span's `keys` exactly when the
 * text repeats no key. Recursive; a span's value is at most MAX_DEPTH deep.
 */
export function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += countKeys(item);
    return n;
  }
  for (const key in value) n += 1 + countKeys((value as Record<string, unknown>)[key]);
  return n;
}

/** Characters that end a number or literal. */
const isEnd = (c: number) => c === COMMA || c === RBRACE || c === RBRACKET || c === COLON || isWhitespace(c);

export function scanBatch(text: string): (EventSpan | undefined)[] | undefined {
  try {
    return scan(new Scanner(text));
  } catch {
    // Not reachable for text JSON.parse accepted; the caller then serialises every event itself.
    return undefined;
  }
}

function scan(s: Scanner): (EventSpan | undefined)[] | undefined {
  const text = s.text;
  s.skipWhitespace();
  if (text.charCodeAt(s.pos) !== LBRACE) return undefined;
  s.pos++;
  let spans: (EventSpan | undefined)[] | undefined;
  for (;;) {
    s.skipWhitespace();
    const c = text.charCodeAt(s.pos);
    if (c === RBRACE) return spans;
    if (c === COMMA) {
      s.pos++;
      continue;
    }
    if (c !== QUOTE) return undefined;
    const at = s.pos;
    // A key with an escape might spell "events": then which array JSON.parse kept is not known here.
    if (!s.string()) return undefined;
    const key = text.slice(at, s.pos);
    if (key.includes('\\')) return undefined;
    s.skipWhitespace();
    if (text.charCodeAt(s.pos) !== COLON) return undefined;
    s.pos++;
    s.skipWhitespace();
    if (key !== '"events"') {
      s.skipValue();
      continue;
    }
    // JSON.parse keeps the last of duplicate keys; two `events` arrays are not worth telling apart.
    if (spans) return undefined;
    if (text.charCodeAt(s.pos) !== LBRACKET) {
      s.skipValue();
      spans = [];
      continue;
    }
    s.pos++;
    spans = [];
    for (;;) {
      s.skipWhitespace();
      const d = text.charCodeAt(s.pos);
      if (d === RBRACKET) {
        s.pos++;
        break;
      }
      if (s.pos >= text.length) return undefined;
      if (d === COMMA) {
        s.pos++;
        continue;
      }
      if (d === LBRACE) {
        spans.push(s.event());
      } else {
        s.skipValue();
        spans.push(undefined);
      }
    }
  }
}
