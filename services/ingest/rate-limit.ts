/**
 * Per-client request limit of the Node server: a fixed one-minute window per key (client IP).
 * Memory stays bounded: windows that ended are dropped when the map is swept, at most once a window.
 */
export interface RateLimiter {
  /** Counts one request of `key` at `nowMs`; 0 if allowed, else seconds until it may retry. */
  take(key: string, nowMs: number): number;
}

const WINDOW_MS = 60_000;

export function createRateLimiter(perMinute: number): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = 0;
  return {
    take(key, nowMs) {
      if (nowMs - lastSweep > WINDOW_MS) {
        for (const [k, w] of windows) if (nowMs - w.start >= WINDOW_MS) windows.delete(k);
        lastSweep = nowMs;
      }
      let w = windows.get(key);
      if (!w || nowMs - w.start >= WINDOW_MS) {
        w = { start: nowMs, count: 0 };
        windows.set(key, w);
      }
      if (w.count >= perMinute) return Math.max(1, Math.ceil((w.start + WINDOW_MS - nowMs) / 1000));
      w.count++;
      return 0;
    },
  };
}
