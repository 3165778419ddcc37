/** The edge Worker (in workerd) against the registry surface's shared behaviour suite. */

import { describe, it } from 'vitest';
import { registrySurfaceCases } from '../shared/registry-surface.cases.ts';
import { send } from './test/helpers.ts';

describe('the shared registry surface (shared/registry-surface.cases.ts)', () => {
  for (const c of registrySurfaceCases) it(c.name, () => c.run((path, init) => send(path, init)));
});
