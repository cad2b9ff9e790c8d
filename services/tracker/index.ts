/**
 * The tracker with the generated typed API: `clickstream.init({ endpoint }).addToCart({ product, quantity })`.
 * This is the entry of dist/tracker/clickstream.min.js (global `clickstream`) and of the ESM build.
 */
import { createEventApi } from '../../generated/tracker/api.ts';
import { type BrowserTrackerConfig, init as initCore } from './browser.ts';

export type { BrowserTrackerConfig } from './browser.ts';

export function init(config: BrowserTrackerConfig) {
  const tracker = initCore(config);
  return { ...tracker, ...createEventApi(tracker.track) };
}
