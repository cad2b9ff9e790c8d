/**
 * `clickstream quarantine list | show | replay`: read the lake's quarantine and replay what the
 * current registry accepts (quarantine-replay.ts). Reads LAKE_URL only; no warehouse needed.
 * stdout: the lines (a table, or JSON lines with --json) / the record / one JSON summary.
 */
import { parseArgs } from 'node:util';
import { parseRange, UsageError, wantsHelp } from '../cli-args.ts';
import { commandFailure } from '../cli-failure.ts';
import { loadConfig } from '../config.ts';
import { openLake } from '../lake/open.ts';
import { listQuarantine, type QuarantinedLine, replayQuarantine, showQuarantined } from './quarantine-replay.ts';

const USAGE = `usage:
  clickstream quarantine list --from <ISO> --to <ISO> [--event <name>] [--rule <rule>] [--json]
      every rejected event of the receive-time range: receive time, id, event, rule, path, message
  clickstream quarantine show <id>
      one of them (<id> = <quarantine key>#<line>, as listed) with its errors and raw event
  clickstream quarantine replay --from <ISO> --to <ISO> [--event <name>] [--rule <rule>]
      validate them again with the current registry; those that pass are written to events/ (one
      new object of this hour, original event_id and received_at) for the next \`etl run\`, and
      marked replayed so a second replay does nothing

Lake: LAKE_URL (default file://<DATA_DIR>/lake).`;

const RANGE_OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  event: { type: 'string' },
  rule: { type: 'string' },
} as const;

export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || wantsHelp(args)) {
      console.error(USAGE);
      return 0;
    }
    if (command === 'list') return await list(rest);
    if (command === 'show') return await show(rest);
    if (command === 'replay') return await replay(rest);
    throw new UsageError(`unknown command: quarantine ${command}`);
  } catch (err) {
    return commandFailure('quarantine', err);
  }
}

function openStore() {
  const config = loadConfig();
  return openLake(config);
}

const oneLine = (s: string, n: number) => {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

function row(q: QuarantinedLine): string {
  const event = q.eventName ? `${q.eventName} v${q.eventVersion ?? '?'}` : '-';
  const replayed = q.replayedTo ? `  [replayed → ${q.replayedTo}]` : '';
  return `${q.receivedAt ?? '-'}  ${q.id}  ${event}  ${q.rule}  ${q.path || '/'}  ${oneLine(q.message, 120)}${replayed}`;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...RANGE_OPTIONS, json: { type: 'boolean' } }, strict: true });
  const window = parseRange(values);
  const store = openStore();
  let n = 0;
  for await (const q of listQuarantine(store, window, { event: values.event, rule: values.rule })) {
    n++;
    if (values.json) {
      const { raw: _raw, ...summary } = q;
      console.log(JSON.stringify(summary));
    } else {
      console.log(row(q));
    }
  }
  console.error(`${n} quarantined event(s) in ${store.url}`);
  return 0;
}

async function show(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('quarantine show takes one <id> (<quarantine key>#<line>)');
  const q = await showQuarantined(openStore(), positionals[0] as string).catch((err: Error) => {
    if (/^a quarantined line is named/.test(err.message)) throw new UsageError(err.message);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err.name === 'NoSuchKey') return undefined;
    throw err;
  });
  if (!q) {
    console.error(`no quarantined line ${positionals[0]}`);
    return 1;
  }
  const { raw, ...rest } = q;
  console.log(JSON.stringify(rest, null, 2));
  console.log(`raw: ${typeof raw === 'string' ? raw : JSON.stringify(raw)}`);
  return 0;
}

async function replay(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: RANGE_OPTIONS, strict: true });
  const window = parseRange(values);
  const result = await replayQuarantine(openStore(), window, { filter: { event: values.event, rule: values.rule } });
  console.log(
    JSON.stringify({
      lines: result.lines,
      replayed: result.replayed,
      already_replayed: result.alreadyReplayed,
      still_rejected: result.stillRejected,
      events_object: result.eventsObject,
    }),
  );
  if (result.eventsObject) console.error('run `clickstream etl run` to load the replayed events');
  return 0;
}
