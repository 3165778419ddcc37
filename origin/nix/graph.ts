/** The runtime reference graph of a closure, as `nix path-info --json --recursive` reports it. */

import { z } from 'zod';
import { runNix } from './run.ts';
import type { ClosureGraph } from '../layers/types.ts';

const pathInfoSchema = z.array(
  z.object({
    path: z.string(),
    narSize: z.number().int().nonnegative(),
    references: z.array(z.string()),
  }),
);

/** Every store path reachable from `roots`, with nar sizes and references. */
export async function closureGraph(roots: readonly string[], signal: AbortSignal): Promise<ClosureGraph> {
  if (roots.length === 0) return { roots: [], paths: [] };
  const stdout = await runNix(
    'nix',
    ['--extra-experimental-features', 'nix-command', 'path-info', '--json', '--recursive', ...roots],
    { signal },
  );
  const paths = pathInfoSchema.parse(JSON.parse(stdout)).map((info) => ({
    path: info.path,
    narSize: info.narSize,
    // A path referring to itself is common (self-references); layering needs only the others.
    references: info.references.filter((reference) => reference !== info.path),
  }));
  return { roots: [...roots], paths };
}
