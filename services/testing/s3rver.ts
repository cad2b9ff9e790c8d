/**
 * Test helper: a real S3 API over HTTP (s3rver) on a random loopback port, in a child process.
 * A child process because s3rver's paginated listing needs `--openssl-legacy-provider` on Node 20
 * (it signs continuation tokens with a legacy cipher), which must not leak into the test process.
 * Each call gets its own empty data directory and bucket; `stop()` kills the child and deletes both.
 * s3rver accepts only its own fixed key pair; `startS3rver` puts it in AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY when those are unset, so code under test (and child processes inheriting
 * the environment) find credentials the way they do in production: from the default chain.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`; use with forcePathStyle: true. */
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: process.env.S3RVER_DIR,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET }],
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (err) => { console.error(err); process.exit(1); },
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startS3rver(bucket = 'lake'): Promise<S3rverHandle> {
  process.env.AWS_ACCESS_KEY_ID ||= S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ||= S3RVER_CREDENTIALS.secretAccessKey;
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    env: {
      PATH: process.env.PATH,
      // S3 and its clients agree on the time (S3 refuses requests signed 15 minutes off): under
      // `npm run test:clock` the server keeps the moved clock of the tests (libfaketime's variables).
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k === 'LD_PRELOAD' || k.startsWith('FAKETIME')),
      ),
      S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'),
      S3RVER_DIR: dir,
      S3RVER_BUCKET: bucket,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const port = await readPort(child);
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      credentials: S3RVER_CREDENTIALS,
      async stop() {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let errOut = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 15 s: ${errOut}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => {
      errOut += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code}: ${errOut}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
