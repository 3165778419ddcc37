/**
 * A small per-isolate memory in front of KV. A Worker isolate serves many requests; what it read
 * from KV a moment ago it can answer again without a KV read: manifests and blob sizes by digest
 * never change, tag pointers are kept only briefly (they can move). Bounded in entries and bytes;
 * least recently used entries go first.
 */

export interface MemoryCacheOptions {
  maxEntries: number;
  maxBytes: number;
}

interface Entry<T> {
  value: T;
  bytes: number;
  /** Epoch ms after which the entry is not used; Infinity for immutable values. */
  expires: number;
}

export class MemoryCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #options: MemoryCacheOptions;
  #bytes = 0;

  constructor(options: MemoryCacheOptions) {
    this.#options = options;
  }

  /** The value under `key`, if present and not expired (and marks it recently used). */
  get(key: string, now: number = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= now) {
      this.#bytes -= entry.bytes;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores a value of roughly `bytes` bytes for `ttlMs` (Infinity = until evicted). */
  set(key: string, value: T, bytes: number, ttlMs: number, now: number = Date.now()): void {
    if (bytes > this.#options.maxBytes) return;
    this.delete(key);
    this.#entries.set(key, { value, bytes, expires: now + ttlMs });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#options.maxEntries && this.#bytes <= this.#options.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}
