/**
 * Evaluates the requested attribute paths in the package set (origin/nix/resolve.nix): which
 * derivation each names, or why it names none. Names reach nix as JSON data only.
 */

import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { closest, distance } from 'fastest-levenshtein';
import { attributePath } from '../../shared/reference.ts';
import { runNix } from './run.ts';
import type { NixSourceArgument } from './source.ts';

const RESOLVE_NIX = fileURLToPath(new URL('./resolve.nix', import.meta.url));

const resolvedSchema = z.object({
  ok: z.literal(true),
  attrPath: z.array(z.string()),
  name: z.string(),
  drvPath: z.string(),
  outputs: z.array(z.object({ name: z.string(), path: z.string() })),
});

const failedSchema = z.object({
  ok: z.literal(false),
  reason: z.enum(['unknown', 'ambiguous', 'not-a-package', 'evaluation-error']),
  resolved: z.array(z.string()),
  wanted: z.string(),
  candidates: z.array(z.string()),
});

const evaluationSchema = z.array(z.discriminatedUnion('ok', [resolvedSchema, failedSchema]));

/** A requested package that resolved to a derivation. */
export type ResolvedPackage = z.infer<typeof resolvedSchema> & { requested: string };

/** A requested package that did not: with the reason and close matches to suggest. */
export interface UnresolvedPackage {
  requested: string;
  reason: z.infer<typeof failedSchema>['reason'];
  /** The attribute path prefix that did resolve (e.g. ["python3Packages"]). */
  resolved: string[];
  /** The component that failed to resolve. */
  wanted: string;
  /** Close matches (for "unknown") or the clashing names (for "ambiguous"). */
  suggestions: string[];
}

export interface Evaluation {
  packages: ResolvedPackage[];
  unresolved: UnresolvedPackage[];
}

export interface EvaluateOptions {
  source: NixSourceArgument;
  system: string;
  /** Dotted lower-case attribute paths, as parsed from the image name. */
  packages: readonly string[];
  signal: AbortSignal;
}

/** Evaluates the requested packages; writes their .drv files so they can be realised. */
export async function evaluatePackages(options: EvaluateOptions): Promise<Evaluation> {
  const request = JSON.stringify({
    source: options.source,
    system: options.system,
    packages: options.packages.map(attributePath),
  });
  const stdout = await runNix(
    'nix-instantiate',
    ['--eval', '--strict', '--json', '--read-write-mode', RESOLVE_NIX, '--argstr', 'request', request],
    { signal: options.signal },
  );
  const results = evaluationSchema.parse(JSON.parse(stdout));
  const evaluation: Evaluation = { packages: [], unresolved: [] };
  results.forEach((result, index) => {
    const requested = options.packages[index] ?? '';
    if (result.ok) {
      evaluation.packages.push({ ...result, requested });
    } else {
      const suggestions =
        result.reason === 'ambiguous' ? result.candidates : closeMatches(result.wanted, result.candidates);
      evaluation.unresolved.push({
        requested,
        reason: result.reason,
        resolved: result.resolved,
        wanted: result.wanted,
        suggestions,
      });
    }
  });
  return evaluation;
}

/** Up to three names close to `wanted` (edit distance, case-insensitive), best first. */
export function closeMatches(wanted: string, candidates: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  const scored = candidates
    .map((name) => ({ name, score: distance(wanted, name.toLowerCase()) }))
    .filter((entry) => entry.score <= limit || entry.name.toLowerCase().startsWith(wanted))
    .sort((a, b) => a.score - b.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (scored.length === 0 && candidates.length > 0) {
    const best = closest(wanted, [...candidates]);
    if (distance(wanted, best.toLowerCase()) <= wanted.length / 2) return [best];
  }
  return scored.slice(0, 3).map((entry) => entry.name);
}

/** One line per unresolved package, for the client's error message. */
export function describeUnresolved(unresolved: UnresolvedPackage): string {
  const where = unresolved.resolved.length > 0 ? ` in ${unresolved.resolved.join('.')}` : '';
  switch (unresolved.reason) {
    case 'unknown':
      return unresolved.suggestions.length > 0
        ? `${unresolved.requested}: no attribute "${unresolved.wanted}"${where} (did you mean ${unresolved.suggestions.join(', ')}?)`
        : `${unresolved.requested}: no attribute "${unresolved.wanted}"${where}`;
    case 'ambiguous':
      return `${unresolved.requested}: "${unresolved.wanted}"${where} matches ${unresolved.suggestions.join(', ')} case-insensitively`;
    case 'not-a-package':
      return `${unresolved.requested}: is a package set, not a package`;
    case 'evaluation-error':
      return `${unresolved.requested}: fails to evaluate (it may be broken, insecure or removed)`;
  }
}
