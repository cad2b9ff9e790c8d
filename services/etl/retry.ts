/**
 * Retries transient failures of the raw lake (S3 throttling, resets) with exponential backoff and
 * full jitter. After the last attempt the error propagates and fails the run.
 */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200 };

export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
  constructor(
    readonly operation: string,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`${operation} failed after ${attempts} attempts: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

export async function withRetry<T>(operation: string, policy: RetryPolicy, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts) throw new RetriesExhaustedError(operation, attempt, err);
      const delay = Math.random() * policy.baseDelayMs * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
