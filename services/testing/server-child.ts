/**
 * Test helper: a server run as a Node child process, ready once its output (stdout + stderr) holds
 * `ready`, stopped with SIGTERM and awaited.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface ServerChild {
  child: ChildProcess;
  /** Everything the child printed so far. */
  output(): string;
  /** SIGTERM, then its exit (at once if it has already exited). */
  stop(): Promise<void>;
}

export async function startServerChild(args: string[], options: SpawnOptions, ready: string): Promise<ServerChild> {
  const child = spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const seen = (d: Buffer) => {
      out += d;
      if (out.includes(ready)) resolve();
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before "${ready}":\n${out}`)));
  });
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
