import { describe, expect, it } from 'vitest';
import enrichmentSchema from '../schemas/common/enrichment.json' with { type: 'json' };
import {
  findUnstorable,
  isUnstorableString,
  MAX_USER_AGENT_CHARS,
  MAX_USER_ID_CHARS,
  mayHoldUnstorable,
  toStorableString,
  truncateCodePoints,
} from './storable.ts';

describe('the one definition of storable', () => {
  it.each([
    ['NUL', 'a\u0000b', true],
    ['a lone high surrogate', 'a\ud800', true],
    ['a lone low surrogate', '\udc00a', true],
    ['a surrogate pair (emoji)', 'a😀b', false],
    ['the text \\u0000 (escaped backslash)', '\\u0000', false],
    ['plain text', 'chaussures ü ß 靴', false],
  ])('%s: unstorable=%s', (_, s, expected) => {
    expect(isUnstorableString(s)).toBe(expected);
    expect(findUnstorable({ a: [{ b: s }] })).toEqual(
      expected ? expect.objectContaining({ path: '/a/0/b', rule: 'unstorable_character' }) : undefined,
    );
  });

  it('checks object keys too, and escapes them as JSON pointers', () => {
    expect(findUnstorable({ 'x/y': { 'k\u0000': 1 } })?.path).toBe('/x~1y/k\u0000');
  });

  it('walks any depth without recursion', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorable(deep)?.rule).toBe('unstorable_character');
  });

  it('gates on the JSON text: an escape, or raw lone surrogates in text not decoded from UTF-8', () => {
    expect(mayHoldUnstorable('{"a":"\\u0041"}', true)).toBe(true);
    expect(mayHoldUnstorable('{"a":"😀"}', true)).toBe(false);
    expect(mayHoldUnstorable('{"a":"\ud800"}', false)).toBe(true);
    expect(mayHoldUnstorable('{"a":"😀"}', false)).toBe(false);
  });

  it('truncates on a code-point boundary and makes server strings storable', () => {
    expect(truncateCodePoints('ab😀c', 3)).toBe('ab😀');
    expect(truncateCodePoints('ab😀c', 2)).toBe('ab');
    expect(truncateCodePoints('abc', 5)).toBe('abc');
    expect(toStorableString('ua\u0000 \ud800x')).toBe('ua \ufffdx');
  });

  it('bounds server-set strings exactly as the enrichment schema does', () => {
    expect(MAX_USER_ID_CHARS).toBe(enrichmentSchema.properties.user_id.maxLength);
    expect(MAX_USER_AGENT_CHARS).toBe(enrichmentSchema.properties.user_agent.maxLength);
  });
});
