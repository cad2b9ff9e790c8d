/**
 * Imported before uPlot: uPlot builds `new Intl.NumberFormat(navigator.language)` when its module
 * loads, and a browser started under a POSIX locale (LANG=C gives Chromium `en-US@posix`) reports a
 * language tag Intl rejects — the import would throw and the chart would never draw. Such a tag is
 * replaced by `en-US` for this page.
 */
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
}
