/**
 * The shop's OLTP schema (Drizzle), written by hand: it is the shop's own model, not the analytics
 * contract in schemas/. Every table lives in the Postgres schema `shop`, so the OLTP database and
 * the warehouse can even share one database without clashing (both have a `sessions` table).
 *
 * Money is integer minor units (cents) in `*_minor` columns, never floating point. Changing this
 * file needs a migration: `npm run oltp:generate -- --name <snake_name>` (migrations/oltp/); a
 * test fails while drizzle-kit would still generate one.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

export const shop = pgSchema('shop');

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull();

export const users = shop.table(
  'users',
  {
    /** The identity provider's `sub` (Cognito's, or the local stand-in's). */
    id: uuid('id').primaryKey(),
    /** `cognito:username`: the sub for e-mail users, `Google_<id>` for Google users. */
    username: varchar('username', { length: 128 }).notNull(),
    email: varchar('email', { length: 254 }).notNull(),
    displayName: varchar('display_name', { length: 100 }).notNull(),
    /** scrypt hash (local identity provider only; null for Cognito and federated users). */
    passwordHash: text('password_hash'),
    signInMethod: varchar('sign_in_method', { length: 16, enum: ['email', 'google'] }).notNull(),
    providerUserId: varchar('provider_user_id', { length: 64 }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('users_username_key').on(t.username),
    // One password account per e-mail; a Google account with the same e-mail is a separate user, as in Cognito.
    uniqueIndex('users_email_key').on(t.email).where(sql`${t.signInMethod} = 'email'`),
  ],
);

export const sessions = shop.table(
  'sessions',
  {
    /** SHA-256 of the cookie's token: a database dump does not hand out live sessions. */
    id: char('id', { length: 64 }).primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    idToken: text('id_token').notNull(),
    idTokenExpiresAt: timestamp('id_token_expires_at', { withTimezone: true }).notNull(),
    /** Cognito's refresh token (null with the local provider, which re-signs). */
    refreshToken: text('refresh_token'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const categories = shop.table('categories', {
  id: serial('id').primaryKey(),
  slug: varchar('slug', { length: 64 }).notNull().unique(),
  name: varchar('name', { length: 100 }).notNull(),
  position: smallint('position').notNull().default(0),
});

export const brands = shop.table('brands', {
  id: serial('id').primaryKey(),
  slug: varchar('slug', { length: 64 }).notNull().unique(),
  name: varchar('name', { length: 100 }).notNull(),
});

export const products = shop.table(
  'products',
  {
    /** The SKU: the `product.id` of every clickstream event. */
    id: varchar('id', { length: 64 }).primaryKey(),
    slug: varchar('slug', { length: 128 }).notNull().unique(),
    name: varchar('name', { length: 255 }).notNull(),
    description: text('description').notNull(),
    categoryId: integer('category_id')
      .notNull()
      .references(() => categories.id),
    brandId: integer('brand_id')
      .notNull()
      .references(() => brands.id),
    currency: char('currency', { length: 3 }).notNull().default('USD'),
    priceMinor: integer('price_minor').notNull(),
    discountPriceMinor: integer('discount_price_minor'),
    /** Paths under MEDIA_BASE_URL, first one the main image. */
    images: jsonb('images').$type<string[]>().notNull(),
    featured: boolean('featured').notNull().default(false),
    active: boolean('active').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [
    index('products_category_idx').on(t.categoryId),
    check('products_price_check', sql`${t.priceMinor} >= 0`),
    check(
      'products_discount_check',
      sql`${t.discountPriceMinor} IS NULL OR (${t.discountPriceMinor} >= 0 AND ${t.discountPriceMinor} < ${t.priceMinor})`,
    ),
  ],
);

export const stock = shop.table(
  'stock',
  {
    productId: varchar('product_id', { length: 64 })
      .primaryKey()
      .references(() => products.id),
    quantity: integer('quantity').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  // The last line of defence against overselling: a decrement below zero fails the transaction.
  (t) => [check('stock_quantity_check', sql`${t.quantity} >= 0`)],
);

export const carts = shop.table(
  'carts',
  {
    id: uuid('id').primaryKey(),
    /** A signed-in shopper's cart… */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    /** …or a guest's, by the SHA-256 of the visitor cookie. */
    guestKey: char('guest_key', { length: 64 }),
    /** Bumped by every change; the checkout form carries it, so a cart changed elsewhere is noticed. */
    version: integer('version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('carts_user_key').on(t.userId),
    uniqueIndex('carts_guest_key').on(t.guestKey),
    check('carts_owner_check', sql`(${t.userId} IS NULL) <> (${t.guestKey} IS NULL)`),
  ],
);

export const cartItems = shop.table(
  'cart_items',
  {
    cartId: uuid('cart_id')
      .notNull()
      .references(() => carts.id, { onDelete: 'cascade' }),
    productId: varchar('product_id', { length: 64 })
      .notNull()
      .references(() => products.id),
    quantity: integer('quantity').notNull(),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.cartId, t.productId] }), check('cart_items_quantity_check', sql`${t.quantity} > 0`)],
);

export const PAYMENT_METHODS = ['card', 'paypal', 'cash_on_delivery'] as const;

export const orders = shop.table(
  'orders',
  {
    /** `ORD-<ULID>`: the `purchase` event's `order.order_id`. */
    id: varchar('id', { length: 64 }).primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    status: varchar('status', { length: 16, enum: ['placed'] }).notNull(),
    currency: char('currency', { length: 3 }).notNull(),
    itemsMinor: integer('items_minor').notNull(),
    shippingMinor: integer('shipping_minor').notNull(),
    totalMinor: integer('total_minor').notNull(),
    paymentMethod: varchar('payment_method', { length: 32, enum: PAYMENT_METHODS }).notNull(),
    shipName: varchar('ship_name', { length: 100 }).notNull(),
    shipAddress: varchar('ship_address', { length: 300 }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('orders_user_idx').on(t.userId, t.createdAt),
    check('orders_total_check', sql`${t.totalMinor} = ${t.itemsMinor} + ${t.shippingMinor}`),
  ],
);

export const orderLines = shop.table(
  'order_lines',
  {
    orderId: varchar('order_id', { length: 64 })
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    lineNo: smallint('line_no').notNull(),
    productId: varchar('product_id', { length: 64 })
      .notNull()
      .references(() => products.id),
    /** What the shopper saw and paid, kept even if the catalogue changes later. */
    productName: varchar('product_name', { length: 255 }).notNull(),
    listPriceMinor: integer('list_price_minor').notNull(),
    unitPriceMinor: integer('unit_price_minor').notNull(),
    quantity: integer('quantity').notNull(),
    lineTotalMinor: integer('line_total_minor').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.lineNo] }),
    check('order_lines_quantity_check', sql`${t.quantity} > 0`),
    check('order_lines_total_check', sql`${t.lineTotalMinor} = ${t.unitPriceMinor} * ${t.quantity}`),
  ],
);

/** One row per checkout submission key: a second submit of the same form finds the first's order. */
export const idempotencyKeys = shop.table('idempotency_keys', {
  key: uuid('key').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  orderId: varchar('order_id', { length: 64 })
    .notNull()
    .references(() => orders.id),
  createdAt: createdAt(),
});

export const wishlistItems = shop.table(
  'wishlist_items',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    productId: varchar('product_id', { length: 64 })
      .notNull()
      .references(() => products.id),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.productId] })],
);

export const reviews = shop.table(
  'reviews',
  {
    id: serial('id').primaryKey(),
    productId: varchar('product_id', { length: 64 })
      .notNull()
      .references(() => products.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    rating: smallint('rating').notNull(),
    body: varchar('body', { length: 2000 }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('reviews_product_user_key').on(t.productId, t.userId),
    check('reviews_rating_check', sql`${t.rating} BETWEEN 1 AND 5`),
  ],
);
