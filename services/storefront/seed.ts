/**
 * The demo catalogue: 36 products in 6 categories from 6 brands, with generated SVG images (no
 * downloads). `seedCatalogue` inserts what is missing and never overwrites (stock and prices a
 * running shop changed stay as they are); `writeMedia` writes the images into the media folder
 * the shop serves under `/media/` — or that a deployment uploads to the media bucket behind
 * CloudFront (`clickstream storefront media <dir>`, then point MEDIA_BASE_URL there).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OltpDb } from './db/open.ts';
import { brands, categories, products, stock } from './db/schema.ts';

export const SEED_CATEGORIES = [
  {
    slug: 'shoes',
    name: 'Shoes',
    models: ['Trail Runner', 'Ridge Hiker', 'Scree Approach', 'Mesa Sandal', 'Tempo Road', 'Alpine Boot'],
    base: 11_900,
  },
  {
    slug: 'jackets',
    name: 'Jackets',
    models: ['Storm Shell', 'Down Parka', 'Fleece Hoodie', 'Wind Breaker', 'Rain Poncho', 'Insulated Vest'],
    base: 15_900,
  },
  {
    slug: 'backpacks',
    name: 'Backpacks',
    models: [
      'Day Pack 20L',
      'Summit Pack 45L',
      'Trek Pack 65L',
      'Hydration Pack 12L',
      'Commuter Pack 28L',
      'Kids Pack 10L',
    ],
    base: 8_900,
  },
  {
    slug: 'tents',
    name: 'Tents',
    models: ['Solo Tent 1P', 'Ridge Tent 2P', 'Family Dome 4P', 'Ultralight Tarp', 'Bivy Sack', 'Basecamp 6P'],
    base: 24_900,
  },
  {
    slug: 'bottles',
    name: 'Bottles & Mugs',
    models: [
      'Steel Bottle 750ml',
      'Insulated Flask 1L',
      'Soft Flask 500ml',
      'Filter Bottle',
      'Camp Mug',
      'Collapsible Jug 4L',
    ],
    base: 2_900,
  },
  {
    slug: 'headlamps',
    name: 'Headlamps',
    models: ['Spark 200', 'Beam 400', 'Nova 800', 'Trail Light 350', 'Kids Glow 100', 'Lantern 600'],
    base: 3_900,
  },
] as const;

/** Names with `&` and `'` on purpose: every page must escape them. */
export const SEED_BRANDS = [
  { slug: 'alpenglow', name: 'Alpenglow' },
  { slug: 'northwind', name: 'Northwind' },
  { slug: 'summit-co', name: 'Summit & Co' },
  { slug: 'riverstone', name: 'Riverstone' },
  { slug: 'kestrel', name: 'Kestrel' },
  { slug: 'ohara', name: "O'Hara Outfitters" },
] as const;

/** Stock by position in a category: plenty, some, the last one, sold out, … */
const STOCK_PATTERN = [25, 12, 1, 0, 40, 7];
const PRICE_STEPS = [1.0, 1.25, 0.8, 1.5, 0.9, 1.1];

export interface SeedProduct {
  id: string;
  slug: string;
  name: string;
  description: string;
  category: (typeof SEED_CATEGORIES)[number]['slug'];
  brand: (typeof SEED_BRANDS)[number]['slug'];
  priceMinor: number;
  discountPriceMinor: number | null;
  images: string[];
  featured: boolean;
  stock: number;
}

const slugify = (s: string) =>
  s
    .toLowerCase()
    .replace(/&/g, 'and')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** The 36 seed products, in a fixed order (deterministic: tests and screenshots rely on it). */
export function seedProducts(): SeedProduct[] {
  return SEED_CATEGORIES.flatMap((category, c) =>
    category.models.map((model, i) => {
      const brand = SEED_BRANDS[(c + i) % SEED_BRANDS.length]!;
      const id = `SKU-${1000 + c * 100 + i + 1}`;
      const name = `${brand.name} ${model}`;
      // Prices end in 99 cents; every third product is on sale at about 20% off.
      const priceMinor = Math.round((category.base * PRICE_STEPS[i]!) / 100) * 100 - 1;
      const discountPriceMinor = i % 3 === 1 ? Math.round((priceMinor * 0.8) / 100) * 100 - 1 : null;
      return {
        id,
        slug: slugify(name),
        name,
        description: `The ${model} from ${brand.name}: made for long days outside, tested on rough trails and built to be repaired rather than replaced.`,
        category: category.slug,
        brand: brand.slug,
        priceMinor,
        discountPriceMinor,
        images: [`products/${id}-1.svg`, `products/${id}-2.svg`],
        featured: i === 0,
        stock: STOCK_PATTERN[i]!,
      };
    }),
  );
}

/** Inserts the categories, brands, products and stock rows that are missing. */
export async function seedCatalogue(db: OltpDb, now: () => Date): Promise<{ productsInserted: number }> {
  return db.transaction(async (tx) => {
    await tx
      .insert(categories)
      .values(SEED_CATEGORIES.map((c, position) => ({ slug: c.slug, name: c.name, position })))
      .onConflictDoNothing();
    await tx
      .insert(brands)
      .values([...SEED_BRANDS])
      .onConflictDoNothing();
    const categoryIds = new Map((await tx.select().from(categories)).map((c) => [c.slug, c.id]));
    const brandIds = new Map((await tx.select().from(brands)).map((b) => [b.slug, b.id]));
    const seed = seedProducts();
    const at = now();
    const inserted = await tx
      .insert(products)
      .values(
        seed.map((p) => ({
          id: p.id,
          slug: p.slug,
          name: p.name,
          description: p.description,
          categoryId: categoryIds.get(p.category)!,
          brandId: brandIds.get(p.brand)!,
          priceMinor: p.priceMinor,
          discountPriceMinor: p.discountPriceMinor,
          images: p.images,
          featured: p.featured,
          createdAt: at,
        })),
      )
      .onConflictDoNothing()
      .returning({ id: products.id });
    await tx
      .insert(stock)
      .values(seed.map((p) => ({ productId: p.id, quantity: p.stock, updatedAt: at })))
      .onConflictDoNothing();
    return { productsInserted: inserted.length };
  });
}

const escapeXml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);

/** A simple outline per category, on a 400×400 canvas. */
const GLYPHS: Record<SeedProduct['category'], string> = {
  shoes: '<path d="M60 280V210q0-36 40-36h70l60 48 100 16q30 6 30 34v18z"/><path d="M60 300h300" stroke-width="14"/>',
  jackets: '<path d="M150 90h100l70 50-20 50-30-15v145H130V175l-30 15-20-50z"/><path d="M200 90v235"/>',
  backpacks:
    '<rect x="110" y="110" width="180" height="210" rx="40"/><rect x="140" y="210" width="120" height="80" rx="16"/><path d="M160 110q0-40 40-40t40 40"/>',
  tents: '<path d="M200 90l140 220H60z"/><path d="M200 90v220M170 310l30-70 30 70"/>',
  bottles:
    '<rect x="150" y="130" width="100" height="200" rx="24"/><rect x="170" y="85" width="60" height="45" rx="8"/>',
  headlamps: '<circle cx="200" cy="200" r="70"/><circle cx="200" cy="200" r="35"/><path d="M70 200h60M270 200h60"/>',
};

function hue(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

export function productSvg(p: SeedProduct, variant: 1 | 2): string {
  const h = (hue(p.id) + (variant === 2 ? 150 : 0)) % 360;
  const brand = SEED_BRANDS.find((b) => b.slug === p.brand)!.name;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400" role="img" aria-label="${escapeXml(p.name)}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${h} 70% 88%)"/><stop offset="1" stop-color="hsl(${(h + 40) % 360} 60% 72%)"/></linearGradient></defs>
<rect width="400" height="400" fill="url(#g)"/>
<g fill="hsl(${h} 45% ${variant === 2 ? 30 : 40}%)" stroke="hsl(${h} 50% 20%)" stroke-width="6" stroke-linejoin="round" transform="${variant === 2 ? 'translate(400 0) scale(-1 1)' : ''}">${GLYPHS[p.category]}</g>
<text x="200" y="362" text-anchor="middle" font-family="sans-serif" font-size="22" fill="hsl(${h} 50% 18%)">${escapeXml(brand)}</text>
</svg>
`;
}

/** Writes every seed image into `<mediaDir>/products/` (unchanged files are left alone). */
export async function writeMedia(mediaDir: string): Promise<number> {
  await mkdir(path.join(mediaDir, 'products'), { recursive: true });
  let written = 0;
  for (const p of seedProducts()) {
    for (const variant of [1, 2] as const) {
      const file = path.join(mediaDir, p.images[variant - 1]!);
      const svg = productSvg(p, variant);
      if ((await readFile(file, 'utf8').catch(() => '')) === svg) continue;
      await writeFile(file, svg);
      written++;
    }
  }
  return written;
}
