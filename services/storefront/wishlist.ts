/** A signed-in shopper's wishlist: toggled from the product page, listed on /wishlist. */
import { and, desc, eq } from 'drizzle-orm';
import { type Product, productsByIds } from './catalog.ts';
import type { OltpDb } from './db/open.ts';
import { wishlistItems } from './db/schema.ts';

/** Adds the product, or removes it when it is already there; says which. */
export async function toggleWishlist(
  db: OltpDb,
  userId: string,
  productId: string,
  now: Date,
): Promise<'add' | 'remove'> {
  const removed = await db
    .delete(wishlistItems)
    .where(and(eq(wishlistItems.userId, userId), eq(wishlistItems.productId, productId)))
    .returning({ productId: wishlistItems.productId });
  if (removed.length > 0) return 'remove';
  await db.insert(wishlistItems).values({ userId, productId, addedAt: now }).onConflictDoNothing();
  return 'add';
}

export async function inWishlist(db: OltpDb, userId: string, productId: string): Promise<boolean> {
  const [row] = await db
    .select({ productId: wishlistItems.productId })
    .from(wishlistItems)
    .where(and(eq(wishlistItems.userId, userId), eq(wishlistItems.productId, productId)));
  return row !== undefined;
}

export async function wishlistOf(db: OltpDb, userId: string): Promise<Product[]> {
  const rows = await db
    .select({ productId: wishlistItems.productId })
    .from(wishlistItems)
    .where(eq(wishlistItems.userId, userId))
    .orderBy(desc(wishlistItems.addedAt), wishlistItems.productId);
  const byId = await productsByIds(
    db,
    rows.map((r) => r.productId),
  );
  return rows.flatMap((r) => byId.get(r.productId) ?? []);
}
