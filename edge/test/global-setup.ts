/** vitest global setup: the stand-in origin, its port provided to the Worker's bindings. */

import type { TestProject } from 'vitest/node';
import { startStandInOrigin } from './stand-in-origin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    standInOriginPort: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const origin = await startStandInOrigin();
  project.provide('standInOriginPort', origin.port);
  return origin.close;
}
