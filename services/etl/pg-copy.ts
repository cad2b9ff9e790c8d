/**
 * `COPY … FROM STDIN` over node-postgres, as a "submittable" query (the interface pg-cursor and
 * pg-query-stream use): pg hands us the connection when the server answers CopyInResponse, and
 * tells us about the error, CommandComplete and ReadyForQuery.
 *
 * Why not pg-copy-streams: when the server rejects a row while a large COPY is still being sent
 * (a duplicate event_id, a value the column refuses), it nulls its connection on the error, but a
 * write it queued for the socket's 'drain' still runs and throws `TypeError: Cannot read
 * properties of null (reading 'stream')` from an event handler — an uncaught exception that killed
 * the ETL on every run over a lake holding resent events (upstream issue
 * brianc/node-pg-copy-streams#171, open). Here every write checks that the COPY is still alive,
 * so a server error only rejects the promise, and the connection stays usable (the server drops
 * the CopyData it receives after the error, then sends ReadyForQuery).
 */
import type pg from 'pg';

/** Bytes per CopyData message: the socket buffers at most about one slice beyond its watermark. */
const SLICE_BYTES = 256 * 1024;

interface PgConnection {
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyFromStdin {
  private ended = false;
  private failed: unknown;
  rowCount = 0;

  constructor(
    private readonly text: string,
    private readonly data: Uint8Array,
    private readonly done: (err: unknown, rowCount: number) => void,
  ) {}

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    let offset = 0;
    const pump = () => {
      while (this.failed === undefined && offset < this.data.length) {
        const slice = this.data.subarray(offset, offset + SLICE_BYTES);
        offset += slice.length;
        connection.sendCopyFromChunk(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength));
        if (connection.stream.writableNeedDrain) {
          connection.stream.once('drain', pump);
          return;
        }
      }
      if (this.failed === undefined) connection.endCopyFrom();
    };
    pump();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rowCount = Number(m[1]);
  }

  handleError(err: unknown): void {
    this.failed = err;
    this.finish(err);
  }

  handleReadyForQuery(): void {
    this.finish(undefined);
  }

  // Messages a COPY never receives; present because pg may dispatch any of them to the active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private finish(err: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.done(err, this.rowCount);
  }
}

/** Runs `copySql` (`COPY … FROM STDIN`, text format) with `data` as its input; resolves to the row count. */
export function copyFromStdin(client: pg.ClientBase, copySql: string, data: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const query = new CopyFromStdin(copySql, data, (err, rows) => (err === undefined ? resolve(rows) : reject(err)));
    client.query(query as unknown as pg.QueryConfig);
  });
}
