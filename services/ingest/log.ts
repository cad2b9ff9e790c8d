/** Structured logs: one JSON object per line on stdout (CloudWatch and `jq` read them as is). */
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
