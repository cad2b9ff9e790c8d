/**
 * The CLIs' progress bar (`etl backfill`, `simulate`): one line redrawn on a terminal; on a pipe
 * (CI logs) a plain line every 10%. The ETA is extrapolated from the fraction done so far.
 * Hand-written rather than cli-progress: one function, no dependency for a single line.
 */
const clock = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** `(fraction 0…1, what is done so far, whether it is finished)` → writes the bar. */
export type ProgressBar = (fraction: number, detail: string, finished: boolean) => void;

export function progressBar(write: (s: string) => void, isTty: boolean, started = performance.now()): ProgressBar {
  let lastDecile = -1;
  return (fraction, detail, finished) => {
    const elapsed = (performance.now() - started) / 1000;
    const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : Number.NaN;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line =
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${detail}  elapsed ${clock(elapsed)}  ETA ${Number.isFinite(eta) ? clock(eta) : '--:--'}`;
    if (isTty) {
      write(`\r${line}${finished ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      write(`${line}\n`);
    }
  };
}
