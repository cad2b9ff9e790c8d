/**
 * The shop's page script (bundled by esbuild, served as /assets/shop.<hash>.js after the built
 * tracker bundle, which defines the global `clickstream`). It reads the page's JSON island, starts
 * the tracker with the shopper's consent and ID token, tracks the events the server put in the
 * island, and adds what only the browser sees: clicks on key buttons, share links, log-out (tracked
 * before the form goes, while the shopper's token is still the page's) and the consent banner.
 * Shopping itself never needs this script: every action is a form.
 */

import type { init } from '../../tracker/index.ts';
import type { Island } from '../views/layout.tsx';

declare const clickstream: { init: typeof init };

const island = document.getElementById('clickstream-data');
const data = JSON.parse(island?.textContent ?? '{}') as Island;

const tracker = clickstream.init({
  endpoint: data.endpoint,
  consent: data.consent === 'granted' ? 'granted' : 'pending',
  pageType: () => data.pageType,
  // Synchronous, so a page-hide flush can still attach it.
  auth: () => data.idToken,
});
if (data.consent === 'denied') tracker.consent(false);

for (const e of data.events) tracker.track(e.name, e.version, e.properties as never);
// The page's own events are sent at once, while the page lives, rather than at page hide (which
// is left to carry only what the shopper did last: the click that navigates, the log-out). Two
// reasons, both measured with the browser test in headless Chromium: a keepalive request that
// still needs its CORS preflight (a signed-in shopper's, with Authorization) was dropped when sent
// at page hide, while one sent now does the preflight and the browser caches it
// (Access-Control-Max-Age) for the page-hide sends that follow; and under heavy load a page-hide
// send lost the last page's events.
tracker.flush();

const banner = document.querySelector<HTMLFormElement>('form[data-consent]');
banner?.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const choice = (ev.submitter as HTMLButtonElement | null)?.value === 'accept' ? 'accept' : 'decline';
  // The events this page tracked so far wait in memory; granting sends them, declining drops them.
  tracker.consent(choice === 'accept');
  const body = new URLSearchParams();
  for (const [k, v] of new FormData(banner)) body.set(k, String(v));
  body.set('choice', choice);
  body.set('via', 'fetch');
  void fetch(banner.action, { method: 'POST', body, credentials: 'same-origin' });
  banner.hidden = true;
});

document.addEventListener(
  'click',
  (ev) => {
    const el = (ev.target as Element | null)?.closest?.<HTMLElement>('[data-track-id], [data-share]');
    if (!el) return;
    const share = el.dataset.share;
    if (share) {
      if (data.product) tracker.shareClick({ product: data.product, channel: share as 'facebook' });
      // The share opens in a new tab and this page stays: no page hide is coming to send it.
      tracker.flush();
      return;
    }
    const href = el instanceof HTMLAnchorElement ? el.href : '';
    tracker.click({
      element_id: el.dataset.trackId!,
      element_text: (el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 255),
      ...(href ? { target_url: href.slice(0, 2048) } : {}),
    });
  },
  { capture: true },
);

for (const form of document.querySelectorAll<HTMLFormElement>('form[data-logout]')) {
  form.addEventListener('submit', () => tracker.logout({ reason: 'user' }));
}
