/**
 * migrations/oltp/ is up to date with the hand-written schema: asks drizzle-kit (its programmatic
 * API, the same diff `drizzle-kit generate` runs) what it would generate from the last snapshot to
 * schema.ts — like `npm run codegen -- --check` does for the warehouse — and fails unless nothing.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { OLTP_MIGRATIONS, openOltp } from './open.ts';
import * as schema from './schema.ts';

const folder = OLTP_MIGRATIONS.migrationsFolder;

describe('OLTP migrations', () => {
  it('match schema.ts (else run `npm run oltp:generate -- --name <snake_name>`)', async () => {
    const journal = JSON.parse(await readFile(path.join(folder, 'meta', '_journal.json'), 'utf8')) as {
      entries: { idx: number; tag: string }[];
    };
    const last = journal.entries.at(-1)!;
    const snapshot = JSON.parse(
      await readFile(path.join(folder, 'meta', `${String(last.idx).padStart(4, '0')}_snapshot.json`), 'utf8'),
    );
    const wouldGenerate = await generateMigration(snapshot, generateDrizzleJson(schema, snapshot.id));
    expect(wouldGenerate, 'drizzle-kit would generate these statements: the OLTP migrations are stale').toEqual([]);
  });

  it('are named, numbered from 0000 and kept apart from the warehouse journal', async () => {
    const journal = JSON.parse(await readFile(path.join(folder, 'meta', '_journal.json'), 'utf8')) as {
      entries: { idx: number; tag: string }[];
    };
    expect(journal.entries.map((e) => e.idx)).toEqual(journal.entries.map((_, i) => i));
    // drizzle-kit invents names like 0003_brave_wolverine without --name.
    for (const e of journal.entries) expect(e.tag).toMatch(/^\d{4}_[a-z0-9_]+$/);
    const warehouse = JSON.parse(await readFile(path.join(folder, '..', 'meta', '_journal.json'), 'utf8')) as {
      entries: { tag: string }[];
    };
    expect(warehouse.entries.map((e) => e.tag)).not.toContain(journal.entries[0]!.tag);
  });

  it('apply to an empty database once, recorded in their own table', async () => {
    const journal = JSON.parse(await readFile(path.join(folder, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    const oltp = await openOltp({ pgliteDir: 'memory://' });
    try {
      await oltp.migrate();
      await oltp.migrate();
      const applied = (await oltp.db.execute(
        sql`SELECT count(*)::int AS n FROM drizzle.__oltp_migrations`,
      )) as unknown as {
        rows: { n: number }[];
      };
      expect(applied.rows).toEqual([{ n: journal.entries.length }]);
    } finally {
      await oltp.close();
    }
  });
});
