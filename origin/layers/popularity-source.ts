/** Loads Nixery's popularity data from NIX_POPULARITY_URL (an http(s) URL, a file:// URL or a file path). */

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parsePopularity } from './popularity.ts';
import type { Popularity } from './types.ts';

/** The popularity data, or an empty map when none is configured; throws an Error naming NIX_POPULARITY_URL. */
export async function loadPopularity(location: string | undefined): Promise<Popularity> {
  if (location === undefined) return new Map();
  let text: string;
  try {
    if (/^https?:\/\//.test(location)) {
      const response = await fetch(location, { signal: AbortSignal.timeout(30_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } else {
      text = await readFile(location.startsWith('file://') ? fileURLToPath(location) : location, 'utf8');
    }
    return parsePopularity(JSON.parse(text));
  } catch (error) {
    throw new Error(`NIX_POPULARITY_URL (${location}) could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
