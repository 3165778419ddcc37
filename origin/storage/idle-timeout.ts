/** A bound on how long a stream from storage may go without data: a stalled download fails instead of hanging. */

import type { Readable } from 'node:stream';

/** Destroys `stream` with a TimeoutError when it delivers no data for `ms` while being read; returns it. */
export function failWhenIdle<T extends Readable>(stream: T, ms: number, what: string): T {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stream.destroy(Object.assign(new Error(`No data from storage for ${ms / 1000} s while reading ${what}`), { name: 'TimeoutError' }));
    }, ms);
    timer.unref();
  };
  // Only while someone reads: a paused consumer is not a stalled store.
  stream.on('resume', arm);
  stream.on('data', arm);
  stream.on('pause', () => clearTimeout(timer));
  stream.once('close', () => clearTimeout(timer));
  return stream;
}
