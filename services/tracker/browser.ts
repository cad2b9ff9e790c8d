/**
 * The core wired to the browser: keepalive fetch transport, localStorage, the page context, page
 * lifecycle (flush on hide) and the optional automatic page_view with single-page-app navigation.
 * `init` here is the core bundle: it tracks with `track(name, version, properties)`.
 */
import type { PageViewV1Properties } from '../../generated/types/events.ts';
import { createTracker, type Tracker, type TrackerConfig } from './core.ts';

export interface BrowserTrackerConfig extends TrackerConfig {
  /** Track a page_view on start and on every history navigation (pushState, back/forward). Default true. */
  autoPageView?: boolean;
  /** Classifies a URL for the automatic page_view. Default: always `other`. */
  pageType?: (url: string) => PageViewV1Properties['page_type'];
}

export type BrowserTracker = Omit<Tracker, 'flushOnHide'>;

function localStorageOrNothing(): Storage | undefined {
  try {
    // Reading the property itself throws when storage is disabled (e.g. blocked cookies).
    return window.localStorage;
  } catch {}
}

export function init(config: BrowserTrackerConfig): BrowserTracker {
  // Within a single-page app the referrer of a navigation is the previous URL, as for a real load.
  let referrer = document.referrer;
  let url = location.href;
  const tracker = createTracker(config, {
    send: (endpoint, body, headers) =>
      fetch(endpoint, { method: 'POST', body, headers, keepalive: true, credentials: 'omit' }).then((r) =>
        // Chromium frees a keepalive request's share of the 64 KiB budget only once its body is read.
        r
          .text()
          .catch(() => {})
          .then(() => ({ status: r.status, retryAfter: r.headers.get('retry-after') })),
      ),
    storage: localStorageOrNothing(),
    page: () => ({
      url: location.href.slice(0, 2048),
      referrer: referrer.slice(0, 2048) || undefined,
      title: document.title.slice(0, 512) || undefined,
    }),
  });
  // A page being unloaded gets both (pagehide first in Chromium); the second sends nothing twice.
  addEventListener('pagehide', () => tracker.flushOnHide(true));
  document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && tracker.flushOnHide());
  addEventListener('online', tracker.flush);

  if (config.autoPageView !== false) {
    const pageView = () => tracker.track('page_view', 1, { page_type: config.pageType?.(location.href) ?? 'other' });
    // After the app's own handlers ran, so the new title is in place.
    const navigated = () =>
      setTimeout(() => {
        if (location.href !== url) {
          referrer = url;
          url = location.href;
          pageView();
        }
      });
    const pushState = history.pushState;
    history.pushState = function (...args) {
      pushState.apply(this, args);
      navigated();
    };
    addEventListener('popstate', navigated);
    pageView();
  }
  return { track: tracker.track, flush: tracker.flush, consent: tracker.consent };
}
