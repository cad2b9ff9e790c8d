import { describe, expect, it } from 'vitest';
import { processBody } from './core.ts';
import { sampleBatch } from './sample-events.ts';
import { describeUserAgent } from './user-agent.ts';

const CHROME_DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const HEADLESS =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36';

describe('user agent enrichment', () => {
  it.each([
    [CHROME_DESKTOP, { is_bot: false, device_class: 'desktop', browser: 'Chrome' }],
    [SAFARI_IPHONE, { is_bot: false, device_class: 'mobile', browser: 'Safari' }],
    [IPAD, { is_bot: false, device_class: 'tablet', browser: 'Safari' }],
    [GOOGLEBOT, { is_bot: true, device_class: 'bot' }],
    [HEADLESS, { is_bot: true, device_class: 'bot' }],
    ['curl/8.5.0', { is_bot: true, device_class: 'bot' }],
    ['Mozilla/5.0 (Unknown) Gecko/20100101', { is_bot: false, device_class: 'unknown', browser: 'Mozilla' }],
    ['curl-free odd agent', { is_bot: true, device_class: 'bot' }], // isbot: no browser token → bot
    [undefined, { is_bot: false }],
  ])('%s → %o', (ua, expected) => {
    expect(describeUserAgent(ua)).toEqual(expected);
    expect(describeUserAgent(ua)).toEqual(expected); // memoised answer is the same
  });

  it('ingest stores the flag and drops the same fields claimed in the body', () => {
    const receivedAt = new Date('2026-11-20T10:00:00Z');
    const body = sampleBatch(2, receivedAt);
    Object.assign(body.events[0] as object, { is_bot: false, device_class: 'tv', browser: 'Forged' });
    const result = processBody(JSON.stringify(body), {
      receivedAt,
      identity: { user_id: null, user_login_state: 'guest', identity_source: 'anonymous' },
      userAgent: GOOGLEBOT,
    });
    if (!result.ok) throw new Error(result.message);
    expect(result.rejected).toEqual([]);
    const lines = result.accepted.map((a) => JSON.parse(a.line) as Record<string, unknown>);
    expect(lines.map((l) => [l.is_bot, l.device_class, l.browser])).toEqual([
      [true, 'bot', undefined],
      [true, 'bot', undefined],
    ]);
  });
});
