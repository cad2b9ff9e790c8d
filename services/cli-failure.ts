/**
 * How a `clickstream` command reports a failure its user can fix: bad arguments as one line
 * naming the command's --help (exit 2), bad configuration or a port in use as its message (exit 1).
 * Anything else is a bug or an outage and is rethrown.
 */
import { isUsageError } from './cli-args.ts';
import { ConfigError } from './config.ts';

export function commandFailure(command: string, err: unknown): number {
  if (isUsageError(err)) {
    console.error(`clickstream ${command}: ${err.message} (see clickstream ${command} --help)`);
    return 2;
  }
  if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error((err as Error).message);
    return 1;
  }
  throw err;
}
