/** What `npm run gc` prints: one line per object deleted (or to delete), then the totals by kind. */

import type { CollectedKind, CollectionReport } from './collect.ts';

const KINDS: readonly CollectedKind[] = ['blob', 'image cache entry', 'layer cache entry', 'used marker', 'staging upload'];

/** `1 blob`, `2 blobs`, `2 image cache entries`. */
function count(n: number, kind: string): string {
  if (n === 1) return `${n} ${kind}`;
  return `${n} ${kind.endsWith('entry') ? `${kind.slice(0, -1)}ies` : `${kind}s`}`;
}

/** The report's lines: each object, then one summary line and what was kept. */
export function reportLines(report: CollectionReport, keptSince: Date): string[] {
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const width = Math.max(0, ...KINDS.map((kind) => kind.length));
  const lines = report.collected.map((object) => `${verb}  ${object.kind.padEnd(width)}  ${object.key}  ${object.size} bytes`);
  const bytes = report.collected.reduce((sum, object) => sum + object.size, 0);
  const byKind = KINDS.map((kind) => {
    const objects = report.collected.filter((object) => object.kind === kind);
    const size = objects.reduce((sum, object) => sum + object.size, 0);
    return kind === 'blob' ? `${count(objects.length, kind)} (${size} bytes)` : count(objects.length, kind);
  });
  lines.push(`${verb} ${count(report.collected.length, 'object')}, ${bytes} bytes: ${byKind.join(', ')}`);
  lines.push(`kept ${count(report.liveImages, 'image')} used since ${keptSince.toISOString()} and ${count(report.keptBlobs, 'blob')}`);
  return lines;
}
