/**
 * Evaluates the requested attribute paths in the package set (origin/nix/resolve.nix): which
 * derivation each names, or why it names none. Names reach nix as JSON data only.
 */

import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { closest, distance } from 'fastest-levenshtein';
import { attributePath } from '../../shared/reference.ts';
import { NixError, runNix } from './run.ts';
import type { NixSourceArgument } from './source.ts';
import { holdDerivations, type HeldRoots } from './realise.ts';
import { storeGate } from './store-gate.ts';

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
  /** The exact attribute path (evaluation errors only). */
  attrPath: z.array(z.string()).optional(),
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
  /** For "evaluation-error": the package set's own message (e.g. nixpkgs refusing an unfree package), paths elided. */
  message?: string;
}

export interface Evaluation {
  packages: ResolvedPackage[];
  unresolved: UnresolvedPackage[];
  /** GC roots on the resolved packages' .drv files, held until the build has roots of its own: release (or `await using`) them. */
  roots: HeldRoots;
}

export interface EvaluateOptions {
  source: NixSourceArgument;
  system: string;
  /** Dotted lower-case attribute paths, as parsed from the image name. */
  packages: readonly string[];
  signal: AbortSignal;
}

/**
 * Evaluates the requested packages; writes their .drv files so they can be realised, and holds GC
 * roots on them (the store's collection waits meanwhile: store-gate.ts), so a collection before
 * the build starts cannot take them.
 */
export async function evaluatePackages(options: EvaluateOptions): Promise<Evaluation> {
  const request = JSON.stringify({
    source: options.source,
    system: options.system,
    packages: options.packages.map(attributePath),
  });
  const { results, roots } = await storeGate.shared(async () => {
    const stdout = await runNix(
      'nix-instantiate',
      ['--eval', '--strict', '--json', '--read-write-mode', RESOLVE_NIX, '--argstr', 'request', request],
      { signal: options.signal },
    );
    const parsed = evaluationSchema.parse(JSON.parse(stdout));
    const drvPaths = parsed.flatMap((result) => (result.ok ? [result.drvPath] : []));
    return { results: parsed, roots: await holdDerivations(drvPaths, options.signal) };
  });
  const evaluation: Evaluation = { packages: [], unresolved: [], roots };
  try {
    await describeResults(options, results, evaluation);
  } catch (error) {
    await roots.release();
    throw error;
  }
  return evaluation;
}

/** Fills `evaluation` with each request's package, or why it names none. */
async function describeResults(options: EvaluateOptions, results: z.infer<typeof evaluationSchema>, evaluation: Evaluation): Promise<void> {
  for (const [index, result] of results.entries()) {
    const requested = options.packages[index] ?? '';
    if (result.ok) {
      evaluation.packages.push({ ...result, requested });
      continue;
    }
    const suggestions = result.reason === 'ambiguous' ? result.candidates : closeMatches(result.wanted, result.candidates);
    const unresolved: UnresolvedPackage = { requested, reason: result.reason, resolved: result.resolved, wanted: result.wanted, suggestions };
    if (result.reason === 'evaluation-error' && result.attrPath) {
      const message = await evaluationErrorMessage(options, result.attrPath);
      if (message !== undefined) unresolved.message = message;
    }
    evaluation.unresolved.push(unresolved);
  }
}

/**
 * The message a package's evaluation fails with (the package set's own words: nixpkgs' "has an
 * unfree license, refusing to evaluate", an alias's "has been removed"), from evaluating it
 * without tryEval; file paths of the package set are elided. Undefined when nix says nothing usable.
 */
async function evaluationErrorMessage(options: EvaluateOptions, attrPath: readonly string[]): Promise<string | undefined> {
  const request = JSON.stringify({ source: options.source, system: options.system, diagnose: attrPath });
  try {
    await runNix('nix-instantiate', ['--eval', '--strict', '--json', '--read-write-mode', RESOLVE_NIX, '--argstr', 'request', request], { signal: options.signal });
    return undefined; // it evaluates now: nothing to say
  } catch (error) {
    if (!(error instanceof NixError) || error.timedOut) return undefined;
    return clientSafeNixMessage(error.stderr);
  }
}

/** The first `error:` paragraph of nix's stderr, without colours, file paths and positions, at most 300 characters. */
export function clientSafeNixMessage(stderr: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const plain = stderr.replace(/\u001b\[[0-9;]*m/g, '');
  const start = plain.lastIndexOf('error: ');
  if (start === -1) return undefined;
  const paragraph = plain.slice(start + 'error: '.length).split(/\n\s*\n|\n\(use '--show-trace'/)[0] ?? '';
  const message = paragraph
    .replace(/ in (?:\/[^\s:,]+)+(?::\d+(?::\d+)?)?/g, '') // " in /nix/store/...-source/pkgs/x.nix:12"
    .replace(/(?:\/[^\s:,'’]+){2,}/g, '…') // any other absolute path
    .replace(/\s+/g, ' ')
    .trim();
  if (message === '') return undefined;
  return message.length > 300 ? `${message.slice(0, 299)}…` : message;
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
      return unresolved.message !== undefined
        ? `${unresolved.requested}: ${unresolved.message}`
        : `${unresolved.requested}: fails to evaluate (it may be broken, insecure or removed)`;
  }
}
