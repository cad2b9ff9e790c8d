/**
 * What ingest derives from the User-Agent header: the bot flag (the `isbot` package's maintained
 * list of crawlers, monitors and headless browsers) and, for the dashboard's device and browser
 * panels, the device class and browser family (`bowser`, MIT, no dependencies).
 *
 * Called once per request, not per event, and memoised: a shop sees few distinct user agents, and
 * bowser's parse (≈ 20 µs) would otherwise be paid on every request of the hot path.
 */
import Bowser from 'bowser';
import { isbot } from 'isbot';
import type { ServerEnrichment } from '../../generated/types/events.ts';

export type UserAgentFields = Pick<ServerEnrichment, 'is_bot' | 'device_class' | 'browser'>;

const DEVICE_CLASSES = new Set(['desktop', 'mobile', 'tablet', 'tv']);
const MAX_BROWSER_CHARS = 32;
const CACHE_SIZE = 1000;
const cache = new Map<string, UserAgentFields>();

export function describeUserAgent(userAgent: string | undefined): UserAgentFields {
  if (!userAgent) return { is_bot: false };
  const hit = cache.get(userAgent);
  if (hit) return hit;
  const fields = parse(userAgent);
  // Bounded: when full, the oldest entry goes (Map keeps insertion order).
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(userAgent, fields);
  return fields;
}

function parse(userAgent: string): UserAgentFields {
  if (isbot(userAgent)) return { is_bot: true, device_class: 'bot' };
  const parsed = Bowser.parse(userAgent);
  const type = parsed.platform.type;
  const name = parsed.browser.name?.slice(0, MAX_BROWSER_CHARS);
  return {
    is_bot: false,
    device_class: type && DEVICE_CLASSES.has(type) ? (type as UserAgentFields['device_class']) : 'unknown',
    ...(name ? { browser: name } : {}),
  };
}
