/**
 * Placing an order, in one transaction:
 *
 *   1. lock the shopper's cart row (a second submit of the same cart waits here for the first);
 *   2. the idempotency key of the form already used → return that order (double submit);
 *   3. the cart version must be the one the checkout page showed (stale cart → refuse);
 *   4. prices and totals from the product rows — the form's expected total is only compared, so a
 *      tampered or outdated total refuses the order instead of charging something else;
 *   5. decrement each line's stock with a conditional UPDATE (`quantity >= n`), in product-id
 *      order so concurrent checkouts never deadlock; a line that does not fit refuses the order
 *      (two shoppers checking out the last item: the second UPDATE waits for the first's commit,
 *      re-reads the row and matches nothing — exactly one order);
 *   6. insert the order and its lines, record the idempotency key, empty the cart; commit.
 *
 * Any refusal throws a CheckoutError, which rolls everything back: no order, no stock change.
 */
import { and, asc, eq, gte, sql } from 'drizzle-orm';
import { ulid } from 'ulid';
import { lineOf, totalsOf } from './cart.ts';
import { productsByIds } from './catalog.ts';
import type { OltpDb } from './db/open.ts';
import { cartItems, carts, idempotencyKeys, orderLines, orders, PAYMENT_METHODS, stock } from './db/schema.ts';
import { formatMoney } from './money.ts';

export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface CheckoutInput {
  userId: string;
  idempotencyKey: string;
  cartVersion: number;
  expectedTotalMinor: number;
  paymentMethod: PaymentMethod;
  shipName: string;
  shipAddress: string;
  now: Date;
}

export type CheckoutErrorCode =
  | 'invalid_input'
  | 'empty_cart'
  | 'stale_cart'
  | 'price_changed'
  | 'out_of_stock'
  | 'product_unavailable';

export class CheckoutError extends Error {
  override name = 'CheckoutError';
  constructor(
    readonly code: CheckoutErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PlacedOrder {
  orderId: string;
  /** False when this was a repeated submit of an order already placed. */
  created: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The checkout form's fields as typed values, or a CheckoutError naming what is wrong. */
export function parseCheckoutForm(form: Record<string, unknown>): Omit<CheckoutInput, 'userId' | 'now'> {
  const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
  const integer = (name: string) => {
    const t = text(name);
    return /^\d{1,9}$/.test(t) ? Number(t) : Number.NaN;
  };
  const idempotencyKey = text('idempotency_key').toLowerCase();
  if (!UUID.test(idempotencyKey))
    throw new CheckoutError('invalid_input', 'The form is incomplete; reload the checkout page.');
  const cartVersion = integer('cart_version');
  const expectedTotalMinor = integer('expected_total_minor');
  if (!Number.isSafeInteger(cartVersion) || !Number.isSafeInteger(expectedTotalMinor)) {
    throw new CheckoutError('invalid_input', 'The form is incomplete; reload the checkout page.');
  }
  const paymentMethod = text('payment_method');
  if (!(PAYMENT_METHODS as readonly string[]).includes(paymentMethod)) {
    throw new CheckoutError('invalid_input', 'Choose a payment method.');
  }
  const shipName = text('ship_name');
  const shipAddress = text('ship_address');
  if (shipName.length < 1 || shipName.length > 100)
    throw new CheckoutError('invalid_input', 'Enter the name to ship to (up to 100 characters).');
  if (shipAddress.length < 5 || shipAddress.length > 300) {
    throw new CheckoutError('invalid_input', 'Enter the shipping address (5 to 300 characters).');
  }
  return {
    idempotencyKey,
    cartVersion,
    expectedTotalMinor,
    paymentMethod: paymentMethod as PaymentMethod,
    shipName,
    shipAddress,
  };
}

export async function placeOrder(db: OltpDb, input: CheckoutInput): Promise<PlacedOrder> {
  return db.transaction(async (tx) => {
    const [cart] = await tx.select().from(carts).where(eq(carts.userId, input.userId)).for('update');

    const [used] = await tx.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, input.idempotencyKey));
    if (used) {
      if (used.userId !== input.userId)
        throw new CheckoutError('invalid_input', 'The form is invalid; reload the checkout page.');
      return { orderId: used.orderId, created: false };
    }

    if (!cart) throw new CheckoutError('empty_cart', 'Your cart is empty.');
    const items = await tx
      .select()
      .from(cartItems)
      .where(eq(cartItems.cartId, cart.id))
      .orderBy(asc(cartItems.productId));
    if (items.length === 0) throw new CheckoutError('empty_cart', 'Your cart is empty.');
    if (cart.version !== input.cartVersion) {
      throw new CheckoutError(
        'stale_cart',
        'Your cart changed since you opened the checkout; check it and place the order again.',
      );
    }

    const byId = await productsByIds(
      tx,
      items.map((i) => i.productId),
    );
    const lines = items.map((item) => {
      const product = byId.get(item.productId);
      if (!product?.active)
        throw new CheckoutError(
          'product_unavailable',
          'A product in your cart is no longer sold; remove it to continue.',
        );
      return lineOf(product, item.quantity);
    });
    const totals = totalsOf(lines);
    if (totals.totalMinor !== input.expectedTotalMinor) {
      throw new CheckoutError(
        'price_changed',
        `The total is now ${formatMoney(totals.totalMinor)} (the checkout showed ${formatMoney(input.expectedTotalMinor)}); check your cart and place the order again.`,
      );
    }

    for (const line of lines) {
      const updated = await tx
        .update(stock)
        .set({ quantity: sql`${stock.quantity} - ${line.quantity}`, updatedAt: input.now })
        .where(and(eq(stock.productId, line.product.id), gte(stock.quantity, line.quantity)))
        .returning({ left: stock.quantity });
      if (updated.length === 0) {
        throw new CheckoutError(
          'out_of_stock',
          `Sorry, ${line.product.name} sold out while you were checking out (not enough left for ${line.quantity}).`,
        );
      }
    }

    const orderId = `ORD-${ulid(input.now.getTime())}`;
    await tx.insert(orders).values({
      id: orderId,
      userId: input.userId,
      status: 'placed',
      currency: lines[0]!.product.currency,
      ...totals,
      paymentMethod: input.paymentMethod,
      shipName: input.shipName,
      shipAddress: input.shipAddress,
      createdAt: input.now,
    });
    await tx.insert(orderLines).values(
      lines.map((l, i) => ({
        orderId,
        lineNo: i + 1,
        productId: l.product.id,
        productName: l.product.name,
        listPriceMinor: l.product.priceMinor,
        unitPriceMinor: l.unitMinor,
        quantity: l.quantity,
        lineTotalMinor: l.lineMinor,
      })),
    );
    await tx
      .insert(idempotencyKeys)
      .values({ key: input.idempotencyKey, userId: input.userId, orderId, createdAt: input.now });
    await tx.delete(cartItems).where(eq(cartItems.cartId, cart.id));
    await tx
      .update(carts)
      .set({ version: sql`${carts.version} + 1`, updatedAt: input.now })
      .where(eq(carts.id, cart.id));
    return { orderId, created: true };
  });
}

/** An order with its lines, only if it belongs to `userId`. */
export async function orderOf(db: OltpDb, userId: string, orderId: string) {
  const [order] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.userId, userId)));
  if (!order) return undefined;
  const lines = await db
    .select()
    .from(orderLines)
    .where(eq(orderLines.orderId, orderId))
    .orderBy(asc(orderLines.lineNo));
  return { ...order, lines };
}

export async function ordersOf(db: OltpDb, userId: string) {
  return db
    .select({
      id: orders.id,
      createdAt: orders.createdAt,
      totalMinor: orders.totalMinor,
      currency: orders.currency,
      status: orders.status,
    })
    .from(orders)
    .where(eq(orders.userId, userId))
    .orderBy(sql`${orders.createdAt} DESC`, sql`${orders.id} DESC`);
}
