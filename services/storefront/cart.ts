/**
 * Carts: one per signed-in shopper (by user id) or per guest (by the hash of the visitor cookie).
 * Every change runs in a transaction that holds the cart's row lock and bumps its version, which
 * the checkout form carries back so an order is never placed for a cart the shopper did not see.
 * Prices are never stored in the cart: they are read from the products when shown or ordered.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { type Product, productsByIds, unitPrice } from './catalog.ts';
import type { OltpDb, OltpTx } from './db/open.ts';
import { cartItems, carts } from './db/schema.ts';

export type CartOwner = { userId: string } | { guestKey: string };

export const MAX_LINE_QUANTITY = 10;
/** Orders of this much (items, minor units) ship free; below it shipping costs SHIPPING_MINOR. */
export const FREE_SHIPPING_FROM_MINOR = 5_000;
export const SHIPPING_MINOR = 499;

export interface CartLine {
  product: Product;
  quantity: number;
  unitMinor: number;
  lineMinor: number;
}

export interface Totals {
  itemsMinor: number;
  shippingMinor: number;
  totalMinor: number;
}

export interface Cart extends Totals {
  /** Null until the first item is added. */
  id: string | null;
  version: number;
  lines: CartLine[];
  count: number;
}

export type CartErrorCode = 'invalid_quantity' | 'product_not_found' | 'out_of_stock' | 'insufficient_stock';

export class CartError extends Error {
  override name = 'CartError';
  constructor(
    readonly code: CartErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function totalsOf(lines: Pick<CartLine, 'lineMinor'>[]): Totals {
  const itemsMinor = lines.reduce((sum, l) => sum + l.lineMinor, 0);
  const shippingMinor = itemsMinor === 0 || itemsMinor >= FREE_SHIPPING_FROM_MINOR ? 0 : SHIPPING_MINOR;
  return { itemsMinor, shippingMinor, totalMinor: itemsMinor + shippingMinor };
}

export function lineOf(product: Product, quantity: number): CartLine {
  const unitMinor = unitPrice(product);
  return { product, quantity, unitMinor, lineMinor: unitMinor * quantity };
}

const ownerWhere = (owner: CartOwner) =>
  'userId' in owner ? eq(carts.userId, owner.userId) : eq(carts.guestKey, owner.guestKey);

/** A quantity from a form: an integer from `min` to MAX_LINE_QUANTITY, else a CartError. */
export function parseQuantity(raw: unknown, min = 1): number {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const n = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > MAX_LINE_QUANTITY) {
    throw new CartError('invalid_quantity', `Choose a quantity from ${min} to ${MAX_LINE_QUANTITY}.`);
  }
  return n;
}

export async function getCart(db: OltpDb, owner: CartOwner): Promise<Cart> {
  const [cart] = await db.select().from(carts).where(ownerWhere(owner));
  if (!cart) return { id: null, version: 0, lines: [], count: 0, ...totalsOf([]) };
  const items = await db
    .select()
    .from(cartItems)
    .where(eq(cartItems.cartId, cart.id))
    .orderBy(cartItems.addedAt, cartItems.productId);
  const byId = await productsByIds(
    db,
    items.map((i) => i.productId),
  );
  const lines = items.flatMap((i) => {
    const product = byId.get(i.productId);
    return product ? [lineOf(product, i.quantity)] : [];
  });
  return {
    id: cart.id,
    version: cart.version,
    lines,
    count: lines.reduce((n, l) => n + l.quantity, 0),
    ...totalsOf(lines),
  };
}

/** The owner's cart row, created if missing, locked for the rest of the transaction. */
async function lockCart(tx: OltpTx, owner: CartOwner, now: Date) {
  await tx
    .insert(carts)
    .values({ id: randomUUID(), ...owner, version: 0, createdAt: now, updatedAt: now })
    .onConflictDoNothing();
  const [cart] = await tx.select().from(carts).where(ownerWhere(owner)).for('update');
  return cart!;
}

const bump = (tx: OltpTx, cartId: string, now: Date) =>
  tx
    .update(carts)
    .set({ version: sql`${carts.version} + 1`, updatedAt: now })
    .where(eq(carts.id, cartId));

async function setLine(tx: OltpTx, cartId: string, product: Product, quantity: number, now: Date) {
  if (quantity > product.stock) {
    throw product.stock === 0
      ? new CartError('out_of_stock', `${product.name} is sold out.`)
      : new CartError('insufficient_stock', `Only ${product.stock} of ${product.name} left in stock.`);
  }
  await tx
    .insert(cartItems)
    .values({ cartId, productId: product.id, quantity, addedAt: now })
    .onConflictDoUpdate({ target: [cartItems.cartId, cartItems.productId], set: { quantity } });
}

async function activeProduct(tx: OltpTx, productId: string): Promise<Product> {
  const product = (await productsByIds(tx, [productId])).get(productId);
  if (!product?.active) throw new CartError('product_not_found', 'That product does not exist.');
  return product;
}

async function quantityInCart(tx: OltpTx, cartId: string, productId: string): Promise<number> {
  const [item] = await tx
    .select({ quantity: cartItems.quantity })
    .from(cartItems)
    .where(and(eq(cartItems.cartId, cartId), eq(cartItems.productId, productId)));
  return item?.quantity ?? 0;
}

export interface CartChange {
  cartId: string;
  product: Product;
  /** Units added (> 0) or removed (< 0). */
  delta: number;
}

/** Changes one line of the owner's cart to `target(quantity before)` units (0 removes it). */
async function changeLine(
  db: OltpDb,
  owner: CartOwner,
  productId: string,
  now: Date,
  target: (before: number) => number,
): Promise<CartChange> {
  return db.transaction(async (tx) => {
    const product = await activeProduct(tx, productId);
    const cart = await lockCart(tx, owner, now);
    const before = await quantityInCart(tx, cart.id, productId);
    const quantity = target(before);
    if (quantity > MAX_LINE_QUANTITY) {
      throw new CartError('invalid_quantity', `At most ${MAX_LINE_QUANTITY} of one product per order.`);
    }
    if (quantity === 0) {
      await tx.delete(cartItems).where(and(eq(cartItems.cartId, cart.id), eq(cartItems.productId, productId)));
    } else {
      await setLine(tx, cart.id, product, quantity, now);
    }
    if (quantity !== before) await bump(tx, cart.id, now);
    return { cartId: cart.id, product, delta: quantity - before };
  });
}

/** Adds `quantity` units; the line may not exceed the stock or MAX_LINE_QUANTITY. */
export const addItem = (db: OltpDb, owner: CartOwner, productId: string, quantity: number, now: Date) =>
  changeLine(db, owner, productId, now, (before) => before + quantity);

/** Sets the line to `quantity` units (0 removes it). */
export const setItemQuantity = (db: OltpDb, owner: CartOwner, productId: string, quantity: number, now: Date) =>
  changeLine(db, owner, productId, now, () => quantity);

/** Moves a guest's cart into the user's on sign-in (quantities added up, capped by stock and the line limit). */
export async function mergeGuestCart(db: OltpDb, guestKey: string, userId: string, now: Date): Promise<void> {
  await db.transaction(async (tx) => {
    const [guest] = await tx.select().from(carts).where(eq(carts.guestKey, guestKey)).for('update');
    if (!guest) return;
    const items = await tx.select().from(cartItems).where(eq(cartItems.cartId, guest.id));
    if (items.length > 0) {
      const cart = await lockCart(tx, { userId }, now);
      const byId = await productsByIds(
        tx,
        items.map((i) => i.productId),
      );
      for (const item of items) {
        const product = byId.get(item.productId);
        if (!product?.active || product.stock === 0) continue;
        const merged = Math.min(
          (await quantityInCart(tx, cart.id, item.productId)) + item.quantity,
          MAX_LINE_QUANTITY,
          product.stock,
        );
        await setLine(tx, cart.id, product, merged, now);
      }
      await bump(tx, cart.id, now);
    }
    await tx.delete(carts).where(eq(carts.id, guest.id));
  });
}
