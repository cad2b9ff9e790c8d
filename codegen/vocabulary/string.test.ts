import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuleId } from '../compat/rules.ts';
import { loadRegistry, RegistryError } from '../load.ts';
import type { JsonSchema } from '../registry.ts';
import { copySchemas, type TempSchemas } from '../testing/temp-schemas.ts';
import { STRING } from './string.ts';

type Found = { rule: RuleId; pointer: string; message: string };
function compare(on: JsonSchema, nn: JsonSchema): Found[] {
  const found: Found[] = [];
  STRING.compare(
    on,
    nn,
    (k) => `/p/${k}`,
    (rule, pointer, message) => found.push({ rule, pointer, message }),
  );
  return found;
}

describe('the string keyword family', () => {
  it('reports each tightened string keyword at its pointer and nothing for widenings', () => {
    expect(compare({ maxLength: 10, minLength: 1 }, { maxLength: 20, minLength: 0 })).toEqual([]);
    expect(compare({ pattern: '^a', format: 'uuid' }, {})).toEqual([]);
    expect(
      compare({ maxLength: 10 }, { maxLength: 5, minLength: 2, pattern: '^a$', format: 'email' }).map((f) => [
        f.rule,
        f.pointer,
      ]),
    ).toEqual([
      ['EVENT_MAX_LENGTH_DECREASED', '/p/maxLength'],
      ['EVENT_MIN_LENGTH_INCREASED', '/p/minLength'],
      ['EVENT_PATTERN_CHANGED', '/p/pattern'],
      ['EVENT_FORMAT_CHANGED', '/p/format'],
    ]);
    expect(compare({ pattern: '^a' }, { pattern: '^b' })[0]?.message).toBe('pattern "^a" → "^b"');
  });

  it('asks a string for maxLength unless a bounded format bounds it', () => {
    expect(STRING.boundIssues({ type: 'string' }, ['string'])).toHaveLength(1);
    expect(STRING.boundIssues({ type: 'string', format: 'uuid' }, ['string'])).toEqual([]);
    expect(STRING.boundIssues({ type: 'string', format: 'uri' }, ['string'])).toHaveLength(1);
    expect(STRING.boundIssues({ type: 'integer' }, ['integer'])).toEqual([]);
  });

  it('renders its keywords for the catalogue in rank order with the other families', () => {
    const ranks = STRING.catalogue({ pattern: '^x', maxLength: 3, minLength: 1, format: 'date' });
    expect(ranks.map((r) => r.text)).toEqual(['format date', 'minLength 1', 'maxLength 3', 'pattern `^x`']);
    // Number and array bounds (ranks 40–70 in number.ts and array.ts) sit between maxLength and pattern.
    expect(ranks.map((r) => r.rank)).toEqual([10, 20, 30, 90]);
  });
});

describe('the loader applies the string family', () => {
  let schemas: TempSchemas;
  beforeEach(async () => {
    schemas = await copySchemas();
  });
  afterEach(() => schemas.remove());

  it('refuses inverted length bounds and an invalid pattern, located at the node and the keyword', async () => {
    await schemas.edit('events/add_to_cart/1.json', (s) => {
      const quantity = (s.properties as Record<string, Record<string, unknown>>).quantity as Record<string, unknown>;
      Object.assign(quantity, { type: 'string', minLength: 9, maxLength: 3, pattern: '(' });
      delete quantity.minimum;
      delete quantity.maximum;
    });
    const error = await loadRegistry(schemas.dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryError);
    const lines = (error as RegistryError).issues.map((i) => `${i.pointer}: ${i.message}`);
    expect(lines).toContain('/properties/quantity: minLength 9 is greater than maxLength 3');
    expect(lines.some((l) => l.startsWith('/properties/quantity/pattern: invalid regular expression'))).toBe(true);
  });
});
