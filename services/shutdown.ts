/**
 * Resolves when a long-running command should stop: SIGTERM, SIGINT, or its parent process gone.
 * `npx` (npm exec) does not forward SIGTERM to the command: when npx is killed the command is
 * re-parented, and a server left listening with nobody to stop it would hold its port.
 */
export function untilShutdown(): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    // process.ppid is fixed at start, so probe whether the parent still exists.
    const parent = process.ppid;
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        resolve('parent exited');
      }
    }, 500).unref();
  });
}
