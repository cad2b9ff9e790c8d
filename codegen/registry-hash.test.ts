import { describe, expect, it } from 'vitest';
import { generate } from './generators/registry-hash.ts';
import { layout } from './layout.ts';

const hashOf = (files: { path: string; contents: string }[]) =>
  /REGISTRY_HASH = '([0-9a-f]{64})'/.exec(generate(files).contents)?.[1];

describe('registry hash', () => {
  const validators = [
    { path: 'generated/validators/a.v1.ts', contents: 'a' },
    { path: 'generated/validators/index.ts', contents: 'i' },
  ];

  it('is of the validator sources only, whatever their order', () => {
    const base = hashOf(validators);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOf([...validators].reverse())).toBe(base);
    expect(hashOf([...validators, { path: 'generated/types/events.ts', contents: 't' }])).toBe(base);
    expect(
      hashOf([{ ...validators[0], contents: 'a2' } as (typeof validators)[0], validators[1] as (typeof validators)[0]]),
    ).not.toBe(base);
    expect(hashOf([validators[0] as (typeof validators)[0]])).not.toBe(base);
    expect(generate(validators).path).toBe(layout.registryHash);
  });

  it('refuses to hash nothing', () => {
    expect(() => generate([{ path: 'generated/types/events.ts', contents: 't' }])).toThrow(/no generated files/);
  });
});
