/**
 * vitest global setup: the stand-in origin, its port provided to the Worker's bindings; and three
 * more (a, b, c) for the tests of several origins (edge/origin-failover.test.ts).
 */

import type { TestProject } from 'vitest/node';
import { startStandInOrigin } from './stand-in-origin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    standInOriginPort: number;
    standInOriginPorts: number[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const origin = await startStandInOrigin();
  const several = await Promise.all(['a', 'b', 'c'].map((name) => startStandInOrigin(name)));
  project.provide('standInOriginPort', origin.port);
  project.provide('standInOriginPorts', several.map((standIn) => standIn.port));
  return async () => {
    await Promise.all([origin, ...several].map((standIn) => standIn.close()));
  };
}
