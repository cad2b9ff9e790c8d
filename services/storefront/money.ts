/**
 * Money is integer minor units everywhere in the shop (cents: the shop sells in USD). Events carry
 * major units as JSON numbers (the schemas' `price`, `total`), converted only at that edge.
 */
export const SHOP_CURRENCY = 'USD' as const;

const formatter = new Intl.NumberFormat('en-US', { style: 'currency', currency: SHOP_CURRENCY });

/** `$1,234.50` — the locale is fixed, so pages render the same on every machine. */
export const formatMoney = (minor: number) => formatter.format(minor / 100);

/** Minor → major units for events (exact for integer cents: at most two decimals). */
export const toMajor = (minor: number) => Math.round(minor) / 100;
