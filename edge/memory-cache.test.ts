import { describe, it, expect } from 'vitest';
import { MemoryCache } from './memory-cache.ts';

describe('MemoryCache', () => {
  it('returns what was stored until it expires', () => {
    const cache = new MemoryCache<string>({ maxEntries: 10, maxBytes: 1000 });
    cache.set('a', 'A', 1, 100, 0);
    expect(cache.get('a', 50)).toBe('A');
    expect(cache.get('a', 100)).toBeUndefined();
    cache.set('forever', 'F', 1, Infinity, 0);
    expect(cache.get('forever', Number.MAX_SAFE_INTEGER)).toBe('F');
  });

  it('evicts the least recently used entries past its entry and byte bounds', () => {
    const cache = new MemoryCache<string>({ maxEntries: 2, maxBytes: 10 });
    cache.set('a', 'A', 1, Infinity);
    cache.set('b', 'B', 1, Infinity);
    expect(cache.get('a')).toBe('A'); // a is now the most recent
    cache.set('c', 'C', 1, Infinity);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    cache.set('big', 'X', 9, Infinity); // 11 bytes: the least recent (c) goes
    expect(cache.get('c')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('big')).toBe('X');
    cache.set('too-big', 'Y', 11, Infinity);
    expect(cache.get('too-big')).toBeUndefined();
  });
});
