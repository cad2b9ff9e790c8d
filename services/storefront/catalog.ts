/**
 * Catalogue reads: categories, product lists (category, search, featured) with sorting and paging,
 * and product pages. Search text goes to PostgreSQL only as a bound parameter, with the LIKE
 * wildcards in it escaped, so `%`, `_`, `'` or `;` are searched for literally.
 */
import { and, asc, count, desc, eq, ilike, inArray, or, type SQL, sql } from 'drizzle-orm';
import type { OltpDb } from './db/open.ts';
import { brands, categories, products, reviews, stock, users } from './db/schema.ts';

export interface Product {
  id: string;
  slug: string;
  name: string;
  description: string;
  category: { slug: string; name: string };
  brand: { slug: string; name: string };
  currency: string;
  priceMinor: number;
  discountPriceMinor: number | null;
  images: string[];
  stock: number;
  active: boolean;
}

export const SORTS = {
  featured: 'Featured',
  price_asc: 'Price: low to high',
  price_desc: 'Price: high to low',
  name: 'Name',
  newest: 'Newest',
} as const;
export type Sort = keyof typeof SORTS;

export const PAGE_SIZE = 12;
/** Longest search text accepted (the `search` event allows 512). */
export const MAX_QUERY_LENGTH = 200;

/** What the shopper pays per unit. */
export const unitPrice = (p: Pick<Product, 'priceMinor' | 'discountPriceMinor'>) =>
  p.discountPriceMinor ?? p.priceMinor;

const productColumns = {
  id: products.id,
  slug: products.slug,
  name: products.name,
  description: products.description,
  currency: products.currency,
  priceMinor: products.priceMinor,
  discountPriceMinor: products.discountPriceMinor,
  images: products.images,
  active: products.active,
  stock: stock.quantity,
  categorySlug: categories.slug,
  categoryName: categories.name,
  brandSlug: brands.slug,
  brandName: brands.name,
};

type ProductRow = Omit<Product, 'category' | 'brand'> & {
  categorySlug: string;
  categoryName: string;
  brandSlug: string;
  brandName: string;
};

function toProduct({ categorySlug, categoryName, brandSlug, brandName, ...rest }: ProductRow): Product {
  return { ...rest, category: { slug: categorySlug, name: categoryName }, brand: { slug: brandSlug, name: brandName } };
}

function productQuery(db: OltpDb) {
  return db
    .select(productColumns)
    .from(products)
    .innerJoin(categories, eq(products.categoryId, categories.id))
    .innerJoin(brands, eq(products.brandId, brands.id))
    .innerJoin(stock, eq(stock.productId, products.id));
}

export async function listCategories(db: OltpDb) {
  return db.select().from(categories).orderBy(asc(categories.position), asc(categories.name));
}

export async function categoryBySlug(db: OltpDb, slug: string) {
  const [row] = await db.select().from(categories).where(eq(categories.slug, slug));
  return row;
}

/** `\`, `%` and `_` escaped: LIKE's default escape character is the backslash. */
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

export interface ListQuery {
  categoryId?: number;
  search?: string;
  featured?: boolean;
  sort: Sort;
  page: number;
  pageSize?: number;
}

export async function listProducts(
  db: OltpDb,
  q: ListQuery,
): Promise<{ items: Product[]; total: number; pages: number }> {
  const pageSize = q.pageSize ?? PAGE_SIZE;
  const conditions: SQL[] = [eq(products.active, true)];
  if (q.categoryId !== undefined) conditions.push(eq(products.categoryId, q.categoryId));
  if (q.featured) conditions.push(eq(products.featured, true));
  if (q.search !== undefined) {
    const pattern = likePattern(q.search);
    conditions.push(or(ilike(products.name, pattern), ilike(brands.name, pattern), ilike(categories.name, pattern))!);
  }
  const where = and(...conditions);
  const effective = sql`coalesce(${products.discountPriceMinor}, ${products.priceMinor})`;
  const order = {
    featured: [desc(products.featured), asc(categories.position), asc(products.id)],
    price_asc: [asc(effective), asc(products.id)],
    price_desc: [desc(effective), asc(products.id)],
    name: [asc(products.name), asc(products.id)],
    newest: [desc(products.createdAt), asc(products.id)],
  }[q.sort];
  const [rows, [counted]] = await Promise.all([
    productQuery(db)
      .where(where)
      .orderBy(...order)
      .limit(pageSize)
      .offset((q.page - 1) * pageSize),
    db
      .select({ n: count() })
      .from(products)
      .innerJoin(categories, eq(products.categoryId, categories.id))
      .innerJoin(brands, eq(products.brandId, brands.id))
      .where(where),
  ]);
  const total = Number(counted?.n ?? 0);
  return { items: rows.map((r) => toProduct(r)), total, pages: Math.max(1, Math.ceil(total / pageSize)) };
}

export async function productBySlug(db: OltpDb, slug: string): Promise<Product | undefined> {
  const [row] = await productQuery(db).where(and(eq(products.slug, slug), eq(products.active, true)));
  return row ? toProduct(row) : undefined;
}

export async function productsByIds(db: OltpDb, ids: string[]): Promise<Map<string, Product>> {
  if (ids.length === 0) return new Map();
  const rows = await productQuery(db).where(inArray(products.id, ids));
  return new Map(rows.map((r) => [r.id, toProduct(r)]));
}

export async function productReviews(db: OltpDb, productId: string) {
  return db
    .select({ rating: reviews.rating, body: reviews.body, createdAt: reviews.createdAt, author: users.displayName })
    .from(reviews)
    .innerJoin(users, eq(users.id, reviews.userId))
    .where(eq(reviews.productId, productId))
    .orderBy(desc(reviews.createdAt), desc(reviews.id));
}

export class ReviewError extends Error {
  override name = 'ReviewError';
}

/** Adds the shopper's review of a product, or replaces their earlier one. */
export async function saveReview(
  db: OltpDb,
  input: { productId: string; userId: string; rating: number; body: string; now: Date },
): Promise<void> {
  const body = input.body.trim();
  if (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5)
    throw new ReviewError('Choose a rating from 1 to 5 stars.');
  if (body.length === 0 || body.length > 2000) throw new ReviewError('Write a review of 1 to 2000 characters.');
  await db
    .insert(reviews)
    .values({ productId: input.productId, userId: input.userId, rating: input.rating, body, createdAt: input.now })
    .onConflictDoUpdate({
      target: [reviews.productId, reviews.userId],
      set: { rating: input.rating, body, createdAt: input.now },
    });
}
