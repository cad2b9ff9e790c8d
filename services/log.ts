/** Structured logs, for every service: one JSON object per line (CloudWatch and `jq` read them as is), filtered by LOG_LEVEL. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = Record<LogLevel, (msg: string, fields?: Record<string, unknown>) => void>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  minLevel: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line),
  base: Record<string, unknown> = { service: 'ingest' },
): Logger {
  const at = (level: LogLevel) =>
    RANK[level] < RANK[minLevel]
      ? () => {}
      : (msg: string, fields?: Record<string, unknown>) =>
          write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields })}\n`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Errors as loggable fields (Error's own properties are not enumerable). */
export function errorFields(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { error: err.message, error_name: err.name } : { error: String(err) };
}

/** A log entry as the ETL core emits it: `{ level, msg, ...fields }`. */
export type LogEntry = Record<string, unknown>;

/** The ETL core's `(entry) => void` sink, writing through `logger` (so LOG_LEVEL applies). */
export function entrySink(logger: Logger, skip?: (entry: LogEntry) => boolean): (entry: LogEntry) => void {
  return (entry) => {
    if (skip?.(entry)) return;
    const { level = 'info', msg = '', ...fields } = entry as { level?: LogLevel; msg?: unknown };
    (logger[level] ?? logger.info)(String(msg), fields);
  };
}
