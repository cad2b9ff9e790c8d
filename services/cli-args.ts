/**
 * What every `clickstream` subcommand's argument handling shares: a usage error (exit 2, one
 * line plus the usage), `--help`/`-h` (exit 0), and the `--from/--to` receive-time range.
 * Kept free of heavy imports: every command loads it before it knows what it will do.
 */

/** Bad arguments: the command prints the message and its usage and exits 2. */
export class UsageError extends Error {}

/** Whether the arguments ask for help (`--help`, `-h` or `help` anywhere before a `--`). */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h' || a === 'help') return true;
  }
  return false;
}

/** Whether `err` is a usage error: ours, or node:util parseArgs' (unknown option, missing value…). */
export function isUsageError(err: unknown): err is Error {
  return err instanceof UsageError || Boolean((err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS'));
}

/**
 * An ISO 8601 date (UTC midnight) or date-time with `Z` or an offset: a date-time without one
 * would be read in the machine's time zone, so it is refused.
 */
export function parseInstant(flag: string, value: string | undefined): Date {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new UsageError(`${flag} must be an ISO 8601 date or date-time, got ${JSON.stringify(value)}`);
  }
  if (value.length > 10 && !/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} has a time but no time zone: end it with Z (UTC) or an offset like +01:00`,
    );
  }
  return new Date(ms);
}

/** `--from`/`--to` as a window [start, end). */
export function parseRange(values: { from?: string; to?: string }): { start: Date; end: Date } {
  const window = { start: parseInstant('--from', values.from), end: parseInstant('--to', values.to) };
  if (window.start >= window.end) throw new UsageError('--from must be before --to');
  return window;
}

/** For a server that could not listen: which port was taken, and which variable moves it. */
export function portInUseMessage(err: unknown, variable: string): string | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code !== 'EADDRINUSE') return undefined;
  const where = e.port === undefined ? '' : ` ${e.address ?? ''}:${e.port}`;
  return `address${where} is already in use: set ${variable} to another port (or stop what listens there)`;
}

/** One line for arguments a command does not take. */
export function unexpectedArguments(command: string, args: string[]): string {
  return `clickstream ${command}: unexpected argument(s) ${args.map((a) => JSON.stringify(a)).join(' ')} (see clickstream ${command} --help)`;
}
