import { describe, expect, it } from 'vitest';
import { SettingsError, settingsFromContext } from './settings.ts';

const from = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);

describe('settingsFromContext', () => {
  it('defaults to a production posture: multi-AZ, deletion protection, no CORS origin', () => {
    expect(from({})).toEqual({
      corsOrigins: [],
      alertEmail: undefined,
      throttle: { rateLimit: 500, burstLimit: 1000 },
      multiAz: true,
      deletionProtection: true,
      athenaBytesScannedCutoffGb: 10,
    });
  });

  it('reads -c strings and cdk.json values alike', () => {
    const settings = from({
      'clickstream:corsOrigins': 'https://shop.example.com, http://localhost:3000',
      'clickstream:multiAz': 'false',
      'clickstream:deletionProtection': false,
      'clickstream:throttleRateLimit': '50',
      'clickstream:throttleBurstLimit': 100,
      'clickstream:alertEmail': 'oncall@example.com',
      'clickstream:athenaBytesScannedCutoffGb': '2',
    });
    expect(settings).toEqual({
      corsOrigins: ['https://shop.example.com', 'http://localhost:3000'],
      alertEmail: 'oncall@example.com',
      throttle: { rateLimit: 50, burstLimit: 100 },
      multiAz: false,
      deletionProtection: false,
      athenaBytesScannedCutoffGb: 2,
    });
    expect(from({ 'clickstream:corsOrigins': ['https://a.example'] }).corsOrigins).toEqual(['https://a.example']);
  });

  it.each([
    ['clickstream:corsOrigins', '*'],
    ['clickstream:corsOrigins', 'https://shop.example.com/path'],
    ['clickstream:multiAz', 'yes'],
    ['clickstream:throttleRateLimit', '0'],
    ['clickstream:athenaBytesScannedCutoffGb', '0.5'],
    ['clickstream:throttleBurstLimit', '1.5'],
    ['clickstream:alertEmail', 'not-an-address'],
  ])('rejects %s=%j naming the key', (key, value) => {
    expect(() => from({ [key]: value })).toThrow(SettingsError);
    expect(() => from({ [key]: value })).toThrow(key);
  });
});
