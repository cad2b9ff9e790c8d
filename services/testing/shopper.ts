/**
 * A shopper in the browser tests of the shop: a fresh context whose requests cannot leave the
 * machine (share links would open social networks), whose script errors, CSP violations and
 * console errors are collected into `errors`, and a click that waits for the next page to settle.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { type SeedProduct, seedProducts } from '../storefront/seed.ts';

export async function newShopper(
  browser: Browser,
  errors: string[],
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { context, page };
}

/** Clicks `selector` and waits until the page at `url` has loaded and gone quiet. */
export async function go(page: Page, selector: string, url: RegExp | string): Promise<void> {
  await Promise.all([page.waitForURL(url), page.click(selector)]);
  await page.waitForLoadState('networkidle');
}

const SEED = seedProducts();

/** The seeded catalogue's product called `name` (the browser tests shop for named products). */
export function seedProduct(name: string): SeedProduct {
  const p = SEED.find((x) => x.name === name);
  if (!p) throw new Error(`no seeded product named ${name}`);
  return p;
}
