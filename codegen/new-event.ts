/**
 * `npm run new-event -- <event_name> [--owner team] [--description "…"]`
 *
 * Scaffolds `schemas/events/<event_name>/1.json` with the metadata the registry requires and the
 * fixtures the rules ask for (codegen/fixtures.test.ts: at least 3 valid and 5 invalid), one
 * invalid fixture per kind of violation. The property it writes is a placeholder whose description
 * starts with PLACEHOLDER_MARK: codegen refuses the schema until a person replaces it.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EVENT_NAME, PLACEHOLDER_MARK } from './load.ts';
import { SCHEMA_BASE_URI, SCHEMA_DIALECT } from './meta-schema.ts';

const USAGE = 'usage: npm run new-event -- <event_name> [--owner team] [--description "what happened"]';

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
        description: `${PLACEHOLDER_MARK} replace with the real properties of the event; every property needs a description and bounds.`,
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
  const valid = (name: string, e: unknown): [string, unknown] => [path.join(dir, 'fixtures', 'valid', name), e];
  const invalid = (name: string, e: unknown): [string, unknown] => [path.join(dir, 'fixtures', 'invalid', name), e];
  const { session_id: _session, ...withoutSession } = event({ example_id: 'abc' });
  const files: [string, unknown][] = [
    [path.join(dir, '1.json'), schema],
    // Valid: the common case, the longest value, and the optional envelope fields.
    valid('basic.json', event({ example_id: 'abc' })),
    valid('longest-value.json', event({ example_id: 'x'.repeat(64) })),
    valid('with-referrer-and-first-visit.json', {
      ...event({ example_id: 'abc' }),
      is_first_visit: true,
      page: { url: 'https://shop.example/p/1', referrer: 'https://search.example/' },
    }),
    // Invalid, one per kind of violation: required, type, bounds (both ends), closed object, envelope.
    invalid('missing-required.json', event({})),
    invalid('wrong-type.json', event({ example_id: 42 })),
    invalid('too-long.json', event({ example_id: 'x'.repeat(65) })),
    invalid('empty-string.json', event({ example_id: '' })),
    invalid('extra-property.json', event({ example_id: 'abc', unexpected: true })),
    invalid('envelope-missing-session.json', withoutSession),
  ];
  for (const [file, body] of files) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(body, null, 2)}\n`, { flag: 'wx' });
  }
  return files.map(([f]) => f);
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`new-event: ${(e as Error).message.split('.')[0]} (see npm run new-event -- --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  const [name] = positionals;
  if (!name || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const description = values.description ?? `${PLACEHOLDER_MARK} describe when ${name} is sent.`;
  const files = await scaffoldEvent(values.schemas, name, { owner: values.owner, description });
  console.log(
    `created:\n  ${files.join('\n  ')}\nnext: replace the placeholder property (codegen refuses it) and adapt the fixtures, then run \`npm run codegen\`.`,
  );
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      owner: { type: 'string', default: 'data-platform' },
      description: { type: 'string' },
      schemas: { type: 'string', default: 'schemas' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
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
