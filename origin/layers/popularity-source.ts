/** Loads Nixery's popularity data from NIX_POPULARITY_URL (an http(s) URL or a file path). */

import { readFile } from 'node:fs/promises';
import { parsePopularity } from './popularity.ts';
import type { Popularity } from './types.ts';

/** The popularity data, or an empty map when none is configured. */
export async function loadPopularity(location: string | undefined): Promise<Popularity> {
  if (location === undefined) return new Map();
  let text: string;
  if (/^https?:\/\//.test(location)) {
    const response = await fetch(location, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`Expected popularity data at ${location}, got HTTP ${response.status}`);
    text = await response.text();
  } else {
    text = await readFile(location.replace(/^file:\/\//, ''), 'utf8');
  }
  return parsePopularity(JSON.parse(text));
}
