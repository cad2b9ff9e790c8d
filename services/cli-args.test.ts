import { once } from 'node:events';
import net from 'node:net';
import { expect, it } from 'vitest';
import { parseRange, portInUseMessage, unexpectedArguments, wantsHelp } from './cli-args.ts';

it('names the variable that moves a port already in use (a real EADDRINUSE)', async () => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as net.AddressInfo).port;
  const second = net.createServer().listen(port, '127.0.0.1');
  const [err] = await once(second, 'error');
  taken.close();
  expect(portInUseMessage(err, 'DASHBOARD_PORT')).toBe(
    `address 127.0.0.1:${port} is already in use: set DASHBOARD_PORT to another port (or stop what listens there)`,
  );
  expect(portInUseMessage(new Error('other'), 'PORT')).toBeUndefined();
});

it('help, ranges and unexpected arguments', () => {
  expect(wantsHelp(['run', '--help'])).toBe(true);
  expect(wantsHelp(['-h'])).toBe(true);
  expect(wantsHelp(['run', '--', '--help'])).toBe(false);
  expect(parseRange({ from: '2026-11-20', to: '2026-11-21T06:00:00Z' })).toEqual({
    start: new Date('2026-11-20T00:00:00Z'),
    end: new Date('2026-11-21T06:00:00Z'),
  });
  expect(() => parseRange({ from: '2026-11-21', to: '2026-11-20' })).toThrow('--from must be before --to');
  expect(parseRange({ from: '2026-11-20T01:00:00+01:00', to: '2026-11-20T06:30-0530' })).toEqual({
    start: new Date('2026-11-20T00:00:00Z'),
    end: new Date('2026-11-20T12:00:00Z'),
  });
  // Without Z or an offset a date-time would be read in the machine's time zone.
  for (const v of ['2026-11-20T10:00:00', '2026-11-20T10:00', '2026-11-20 10:00:00']) {
    expect(() => parseRange({ from: v, to: '2026-11-22' })).toThrow(
      `--from ${JSON.stringify(v)} has a time but no time zone: end it with Z (UTC) or an offset like +01:00`,
    );
  }
  expect(() => parseRange({ from: '2026-11-20', to: '2026-11-21T00:00:00.000' })).toThrow(/^--to .* no time zone/);
  expect(() => parseRange({ to: '2026-11-20' })).toThrow('--from is required');
  expect(unexpectedArguments('ingest', ['serve', '--x'])).toBe(
    'clickstream ingest: unexpected argument(s) "serve" "--x" (see clickstream ingest --help)',
  );
});
