/** Text tables and the figures the benchmark prints from its rows. */

import type { Row } from './measure.ts';

/** Bytes as GB with two decimals. */
export function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(2);
}

/** ours against theirs as a signed percentage: -45.1% = 45.1% fewer bytes. */
export function pct(ours: number, theirs: number): string {
  const change = (ours / theirs - 1) * 100;
  return `${change <= 0 ? '-' : '+'}${Math.abs(change).toFixed(1)}%`;
}

/** Prints rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** The row with the smallest value of a figure, among rows (Nixery's best of its sweep). */
export function best(rows: readonly Row[], figure: (row: Row) => number): Row {
  return rows.reduce((a, b) => (figure(b) < figure(a) ? b : a));
}

/** The detailed table of one universe: every contender, every figure (the previous benchmark's table). */
export function printDetailed(rows: readonly Row[], largeNote: string): void {
  const header = ['contender', 'D GB', 'D_chain GB', 'churn GB', 'layers/img', '<100kB', 'p95 ms', 'p95 ms 5k', 'det. mismatches'];
  printTable(
    header,
    rows.map((row) => [
      `${row.contender.id} ${row.contender.label}${row.contender.budget < 1e6 && row.contender.budget !== 94 ? ` (budget ${row.contender.budget})` : ''}`,
      gb(row.d),
      gb(row.dChain),
      gb(row.churn),
      row.layersPerImage.toFixed(1),
      `${(row.smallShare * 100).toFixed(1)}%`,
      row.p95.toFixed(2),
      Number.isNaN(row.p95Large) ? '-' : row.p95Large.toFixed(1),
      String(row.mismatches),
    ]),
  );
  console.log(largeNote);
}

/** The D of each image family per contender. */
export function printFamilies(rows: readonly Row[], families: Record<string, readonly number[]>): void {
  const header = ['D by image family GB', ...Object.entries(families).map(([name, members]) => `${name} (${members.length})`)];
  printTable(header, rows.map((row) => [row.contender.id, ...Object.keys(families).map((name) => gb(row.families[name]!))]));
}
