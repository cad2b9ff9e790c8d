import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, etlIntervalMs, loadConfig } from './config.ts';

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

describe('etlIntervalMs', () => {
  it('reads seconds, minutes and hours, up to the longest a timer can wait', () => {
    expect([etlIntervalMs('90'), etlIntervalMs('30s'), etlIntervalMs('1m'), etlIntervalMs('596h')]).toEqual([
      90_000,
      30_000,
      60_000,
      596 * 3_600_000,
    ]);
    expect(etlIntervalMs('2147483s')).toBe(2_147_483_000);
    // Past 2^31−1 ms setTimeout fires after 1 ms: a tick every millisecond instead of every month.
    for (const v of ['597h', '2147484s', '35792m', '99999999999h']) {
      expect(() => etlIntervalMs(v)).toThrow(ConfigError);
      expect(() => etlIntervalMs(v)).toThrow(
        `ETL_INTERVAL="${v}": at most 596h (about 24.8 days), the longest a timer can wait`,
      );
    }
    expect(() => etlIntervalMs('0')).toThrow(ConfigError);
  });
});
