/**
 * `npm run new-event -- <event_name> [--owner team] [--description "…"]`
 *
 * Scaffolds `schemas/events/<event_name>/1.json` with the metadata the registry requires and its
 * fixture folders (one valid and one invalid example), ready for `npm run codegen`.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EVENT_NAME } from './load.ts';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from './meta-schema.ts';

export async function scaffoldEvent(
  schemasDir: string,
  name: string,
  options: { owner: string; description: string },
): Promise<string[]> {
  if (!EVENT_NAME.test(name)) throw new Error(`event name "${name}" must be snake_case: ${EVENT_NAME}`);
  const dir = path.join(schemasDir, 'events', name);
  if (await stat(dir).catch(() => undefined)) throw new Error(`${dir} already exists`);
  const schema = {
    $schema: SCHEMA_DIALECT,
    $id: `${SCHEMA_BASE_URI}events/${name}/1.json`,
    title: name,
    description: options.description,
    'x-owner': options.owner,
    type: 'object',
    additionalProperties: false,
    required: ['example_id'],
    properties: {
      example_id: {
        type: 'string',
        minLength: 1,
        maxLength: 64,
        description: 'Replace with the real properties of the event; every property needs a description and bounds.',
      },
    },
  };
  const event = (properties: unknown) => ({
    event_name: name,
    event_version: 1,
    event_id: '0b7e6a52-5d0c-4a8e-9f53-6a1d2c3b4a50',
    event_timestamp: '2026-01-01T12:00:00.000Z',
    client_id: 'c-example',
    session_id: 's-example',
    page: { url: 'https://shop.example/' },
    properties,
  });
  const files: [string, unknown][] = [
    [path.join(dir, '1.json'), schema],
    [path.join(dir, 'fixtures', 'valid', 'basic.json'), event({ example_id: 'abc' })],
    [path.join(dir, 'fixtures', 'invalid', 'missing-required.json'), event({})],
  ];
  for (const [file, body] of files) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(body, null, 2)}\n`, { flag: 'wx' });
  }
  return files.map(([f]) => f);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      owner: { type: 'string', default: 'data-platform' },
      description: { type: 'string' },
      schemas: { type: 'string', default: 'schemas' },
    },
  });
  const [name] = positionals;
  if (!name || positionals.length > 1) {
    console.error('usage: npm run new-event -- <event_name> [--owner team] [--description "what happened"]');
    return 2;
  }
  const description = values.description ?? `TODO: describe when ${name} is sent.`;
  const files = await scaffoldEvent(values.schemas, name, { owner: values.owner, description });
  console.log(`created:\n  ${files.join('\n  ')}\nnext: edit the schema and fixtures, then run \`npm run codegen\`.`);
  return 0;
}

// Run only when executed directly (compare paths: the URL is percent-encoded).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`new-event: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
