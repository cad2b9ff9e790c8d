/**
 * The contract's faster format checks (codegen/formats.ts) accept exactly the strings of the
 * checks they replace: `date-time` (a fast path in front of ajv-formats' full check) on every
 * date-time of the fixtures, a generated corpus of edge strings (each field at and beyond its
 * bounds, leap years and seconds, separators, offsets) and single-character mutations of the valid
 * ones; `uuid` and `uri` (character loops) against their regexes on the fixtures' strings, edge
 * strings and mutations with ASCII, non-ASCII, case-folding and every whitespace character.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fastFormats, fullFormats } from 'ajv-formats/dist/formats.js';
import { describe, expect, it } from 'vitest';
import { formats } from '../generated/validators/_runtime.ts';
import { STORABLE_FORMATS } from './ajv.ts';
import { fastDateTime, isCanonicalUuid, isSchemeUri } from './formats.ts';

const full = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;
const generated = (formats['date-time'] as { validate: (s: string) => boolean }).validate;
const fast = fastDateTime(full);

function fixtureStrings(): string[] {
  const out: string[] = [];
  const events = path.resolve(import.meta.dirname, '..', 'schemas', 'events');
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  for (const e of readdirSync(events))
    for (const kind of ['valid', 'invalid']) {
      const dir = path.join(events, e, 'fixtures', kind);
      for (const f of readdirSync(dir)) walk(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
    }
  return out;
}

function fixtureDateTimes(): string[] {
  const out: string[] = [];
  const events = path.resolve(import.meta.dirname, '..', 'schemas', 'events');
  const walk = (v: unknown) => {
    if (typeof v === 'string' && /^\d{4}-/.test(v)) out.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  for (const e of readdirSync(events))
    for (const kind of ['valid', 'invalid']) {
      const dir = path.join(events, e, 'fixtures', kind);
      for (const f of readdirSync(dir)) walk(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
    }
  return out;
}

function edgeCorpus(): string[] {
  const years = ['0000', '1900', '2000', '2024', '2026', '9999', '202', '20266'];
  const months = ['00', '01', '02', '04', '09', '10', '11', '12', '13', '1', '99'];
  const days = ['00', '01', '09', '10', '19', '28', '29', '30', '31', '32', '39', '1'];
  const seps = ['T', 't', ' ', '\t', '\n', '\u00a0', '\u2028', 'x', 'TT', ''];
  const times = [
    '00:00:00',
    '23:59:59',
    '23:59:60',
    '23:59:61',
    '24:00:00',
    '12:60:00',
    '12:00:60',
    '00:59:60',
    '9:00:00',
    '12:00',
  ];
  const fractions = ['', '.0', '.123', '.123456789', '.', '.1a'];
  const zones = [
    'Z',
    'z',
    '',
    '+00:00',
    '-00:00',
    '+23:59',
    '-23:59',
    '+24:00',
    '+05:60',
    '+0530',
    '+05',
    '-01:00',
    '+01:00',
    ' Z',
    'ZZ',
  ];
  const out: string[] = [];
  for (const y of years) for (const m of months) for (const d of days) out.push(`${y}-${m}-${d}T12:00:00Z`);
  for (const sep of seps)
    for (const t of times) for (const f of fractions) for (const z of zones) out.push(`2026-11-26${sep}${t}${f}${z}`);
  // Leap seconds with offsets (the full check converts to UTC), and 29 February in every kind of year.
  for (const t of ['23:59:60', '00:59:60', '22:59:60', '23:00:60'])
    for (const z of ['+01:00', '-01:00', '+00:59', '-00:01', 'Z']) out.push(`2026-12-31T${t}${z}`);
  for (const y of ['1900', '2000', '2023', '2024', '2100', '2400'])
    out.push(`${y}-02-29T00:00:00Z`, `${y}-02-28T00:00:00Z`);
  return out;
}

/** Every valid string with each character replaced by a few others, deleted, or doubled. */
function mutations(valid: string[]): string[] {
  const out: string[] = [];
  for (const s of valid.slice(0, 200))
    for (let i = 0; i < s.length; i++)
      for (const c of ['0', '9', 'T', ' ', ':', '-', '+', 'Z', '.', '\u0660']) {
        out.push(s.slice(0, i) + c + s.slice(i + 1));
        out.push(s.slice(0, i) + s.slice(i + 1));
        out.push(s.slice(0, i) + s[i] + s.slice(i));
      }
  return out;
}

describe('date-time fast path', () => {
  it('accepts exactly what ajv-formats full date-time accepts', () => {
    const base = [...fixtureDateTimes(), ...edgeCorpus()];
    const corpus = [...base, ...mutations(base.filter(full))];
    let accepted = 0;
    const differ = corpus.filter((s) => {
      const expected = full(s);
      if (expected) accepted++;
      return fast(s) !== expected || generated(s) !== expected;
    });
    expect(differ).toEqual([]);
    // The corpus has both verdicts in numbers, and takes the fast path for most valid strings.
    expect(corpus.length).toBeGreaterThan(20_000);
    expect(accepted).toBeGreaterThan(2_000);
    expect(corpus.length - accepted).toBeGreaterThan(10_000);
  });
});

/** Characters that trip loops: hex bounds, case folding, non-ASCII look-alikes, every `\s`, controls. */
const TRICKY = [
  ...'0aAfFgG9/:@[`{-+._~ zZ',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u1680',
  '\u180e',
  '\u2000',
  '\u200a',
  '\u200b',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\ufeff',
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  '\u212a',
  '\u0130',
  '\u0131',
  '\uff41',
  '\uff21',
  '\u0660',
  '\ud83d',
  '😀',
];

function mutateEach(seeds: string[]): string[] {
  const out = [...seeds];
  for (const s of seeds)
    for (let i = 0; i <= s.length; i++)
      for (const c of TRICKY) {
        out.push(s.slice(0, i) + c + s.slice(i + 1));
        out.push(s.slice(0, i) + c + s.slice(i));
      }
  for (const s of seeds) for (let i = 0; i < s.length; i++) out.push(s.slice(0, i) + s.slice(i + 1));
  return out;
}

describe('uuid loop', () => {
  it('accepts exactly what the storable uuid regex accepts', () => {
    const regex = STORABLE_FORMATS.uuid as RegExp;
    const seeds = [
      '3f6c2a8e-5b1d-4c7e-9a0f-2d4b6e8f1a3c',
      '3F6C2A8E-5B1D-4C7E-9A0F-2D4B6E8F1A3C',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      'urn:uuid:3f6c2a8e-5b1d-4c7e-9a0f-2d4b6e8f1a3c',
      '{3f6c2a8e-5b1d-4c7e-9a0f-2d4b6e8f1a3c}',
      '3f6c2a8e5b1d4c7e9a0f2d4b6e8f1a3c',
      '',
      ...fixtureStrings().filter((s) => s.length >= 30 && s.length <= 48),
    ];
    const corpus = mutateEach(seeds);
    const differ = corpus.filter((s) => isCanonicalUuid(s) !== regex.test(s) || formats.uuid(s) !== regex.test(s));
    expect(differ).toEqual([]);
    expect(corpus.filter((s) => regex.test(s)).length).toBeGreaterThan(1000);
    expect(corpus.length).toBeGreaterThan(20_000);
  });
});

describe('uri loop', () => {
  it('accepts exactly what ajv-formats fast uri accepts', () => {
    const regex = fastFormats.uri as RegExp;
    const seeds = [
      'https://shop.example/p/1?utm_source=x#top',
      'a:',
      'A:b',
      'mailto:x@y',
      'x+y-z.w://host',
      'urn:isbn:0451450523',
      '//no-scheme',
      ':empty-scheme',
      '1http://digit-first',
      'ht tp://space',
      'https://shop.example/a b',
      '',
      ...fixtureStrings().filter((s) => s.includes(':') && s.length < 120),
    ];
    const corpus = mutateEach(seeds);
    const differ = corpus.filter((s) => isSchemeUri(s) !== regex.test(s) || formats.uri(s) !== regex.test(s));
    expect(differ).toEqual([]);
    expect(corpus.filter((s) => regex.test(s)).length).toBeGreaterThan(5000);
    expect(corpus.filter((s) => !regex.test(s)).length).toBeGreaterThan(1000);
  });
});
