/**
 * drizzle-kit's view of the OLTP schema: `npm run oltp:generate -- --name <snake_name>` writes a
 * migration into migrations/oltp/ (its own journal, apart from the warehouse's migrations/).
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './services/storefront/db/schema.ts',
  out: './migrations/oltp',
});
