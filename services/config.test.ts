import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('defaults to the embedded local stack', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBe('');
    expect(config.LAKE_URL).toBe(`file://${path.resolve('.data', 'lake')}`);
  });

  it('converts and validates values from the environment', () => {
    const config = loadConfig({
      PORT: '9000',
      LAKE_URL: 's3://raw-bucket/prefix',
      MAX_EVENTS_PER_REQUEST: '50',
      CORS_ORIGINS: 'https://shop.example, http://localhost:5173',
    });
    expect(config).toMatchObject({ PORT: 9000, LAKE_URL: 's3://raw-bucket/prefix', MAX_EVENTS_PER_REQUEST: 50 });
  });

  it('fails at start naming every bad variable', () => {
    const bad = () =>
      loadConfig({
        PORT: 'eighty',
        LAKE_URL: 'ftp://x',
        DATABASE_URL: 'mysql://x',
        CORS_ORIGINS: 'https://a.example,*',
      });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/PORT="eighty"/);
    expect(bad).toThrow(/LAKE_URL="ftp:\/\/x"/);
    expect(bad).toThrow(/DATABASE_URL="mysql:\/\/x"/);
    expect(bad).toThrow(/CORS_ORIGINS="https:\/\/a.example,\*"/);
  });

  it('every variable is documented in the README', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '..', 'README.md'), 'utf8');
    const missing = Object.keys(CONFIG_VARIABLES).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
