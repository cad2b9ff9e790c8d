import { describe, expect, it } from 'vitest';
import { withoutFaketime } from './chromium.ts';

describe('withoutFaketime (Chromium runs on the real clock under faketime)', () => {
  it('drops the FAKETIME settings and libfaketime from LD_PRELOAD, and keeps everything else', () => {
    expect(
      withoutFaketime({
        PATH: '/usr/bin',
        FAKETIME: '+730d',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
        LD_PRELOAD: '/usr/$LIB/faketime/libfaketime.so.1:/opt/lib/other.so',
        UNSET: undefined,
      }),
    ).toEqual({ PATH: '/usr/bin', LD_PRELOAD: '/opt/lib/other.so' });
    expect(withoutFaketime({ LD_PRELOAD: '/usr/$LIB/faketime/libfaketime.so.1' })).toEqual({});
    expect(withoutFaketime({ HOME: '/root' })).toEqual({ HOME: '/root' });
  });
});
