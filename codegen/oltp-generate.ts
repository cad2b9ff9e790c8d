/**
 * `npm run oltp:generate -- --name <snake_name>`: after editing the shop's hand-written Drizzle
 * schema (services/storefront/db/schema.ts), adds its migration to migrations/oltp/ (a journal of
 * its own, apart from the warehouse's) — through the same drizzle-kit runner as codegen, so the
 * migration is named and its journal stays in order whatever the machine's clock says.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { drizzleGenerate } from './drizzle-kit.ts';

const USAGE = `usage: npm run oltp:generate -- --name <snake_name>
  adds a migration to migrations/oltp/ when services/storefront/db/schema.ts changed`;

export async function main(argv: string[], root = process.cwd()): Promise<number> {
  let values: { name?: string; help: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { name: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    }));
  } catch (err) {
    console.error(`oltp:generate: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.name || !/^[a-z][a-z0-9_]*$/.test(values.name)) {
    console.error(`oltp:generate: --name <snake_name> is required (e.g. --name add_coupons)\n${USAGE}`);
    return 2;
  }
  const added = await drizzleGenerate(
    root,
    root,
    path.join('services', 'storefront', 'db', 'schema.ts'),
    path.join('migrations', 'oltp'),
    values.name,
  );
  console.log(
    added.length ? `oltp:generate: new migration ${added.join(', ')}` : 'oltp:generate: no change, no migration',
  );
  return 0;
}

// Run only when executed directly (compare paths: the URL is percent-encoded).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`oltp:generate: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
