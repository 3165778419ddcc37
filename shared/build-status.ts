/**
 * The build status document: what the origin is building now and what it built lately, served as
 * JSON at STATUS_PATH by the origin and passed through (cached a second or two) by the edge. The
 * front page reads it to show a build live; operators read it to see what the registry is doing.
 * Read-only; it names images and tags, never who asked.
 *
 *   GET STATUS_PATH                      every build in flight and the last ones
 *   GET STATUS_PATH?image=<name>&tag=t   only the builds of that image (any order of components)
 */

import { platformOfSystem } from './platforms.ts';
import { SHELL_PACKAGES, type ImageName } from './reference.ts';

export const STATUS_PATH = '/_nixedge/status';

/** Builds that ended kept in a status document's `recent`. */
export const RECENT_BUILDS_KEPT = 20;

/** Where a build is: the step it is in while it runs. */
export type BuildStepName = 'queued' | 'fetch-source' | 'evaluate' | 'realise' | 'closure-graph' | 'layer' | 'customisation-layer' | 'publish';

/** How a build ended: an image published, the request refused (4xx, its reason), or the server failed (5xx). */
export type BuildOutcome = 'built' | 'refused' | 'failed';

export interface BuildStatusEntry {
  /** The build id the origin's log lines and error messages carry. */
  id: string;
  /** The image name with its components sorted (shell first, arm64 left out: see platform). */
  image: string;
  tag: string;
  /** The OCI platform built for (`linux/amd64`, `linux/arm64`). */
  platform: string;
  /** The step running now, or the last one it reached. */
  step: BuildStepName | 'starting';
  startedAt: string;
  /** Milliseconds since it started (while in flight) or until it ended. */
  elapsedMs: number;
  layers: {
    /** Layers finished (uploaded or found in the layer cache). */
    done: number;
    /** Layers the image has, once the closure is grouped; null before. */
    total: number | null;
    /** Of the finished ones, those found in the layer cache. */
    cached: number;
  };
  /** Compressed bytes of the layers this build made (cached layers not counted). */
  bytesCompressed: number;
  /** Set once it ended. */
  outcome?: BuildOutcome;
  finishedAt?: string;
  /** Why it failed: the code, status and message its clients got. */
  error?: { code: string; status: number; message: string };
}

export interface QueueStatus {
  running: number;
  queued: number;
}

export interface StatusDocument {
  generatedAt: string;
  /** Slots of the origin: builds (realise, layers) and evaluations. */
  queues: { builds: QueueStatus; evaluations: QueueStatus };
  /** Oldest first. */
  inFlight: BuildStatusEntry[];
  /** The last builds that ended, newest first. */
  recent: BuildStatusEntry[];
}

/** An image name as the status shows it: components sorted, the shell's packages as `shell`, without the platform. */
export function statusImageName(name: ImageName): string {
  const packages = name.shell ? name.packages.filter((pkg) => !(SHELL_PACKAGES as readonly string[]).includes(pkg)) : name.packages;
  return [...(name.shell ? ['shell'] : []), ...packages].join('/');
}

/** The platform an image name is built for, as the status shows it. */
export function statusPlatform(name: ImageName): string {
  return platformOfSystem(name.system).name;
}

/** The status of several origins as one document: queues added up, builds in flight oldest first, the last ones newest first. */
export function mergeStatusDocuments(documents: readonly StatusDocument[]): StatusDocument {
  const sum = (pick: (document: StatusDocument) => QueueStatus): QueueStatus => ({
    running: documents.reduce((total, document) => total + pick(document).running, 0),
    queued: documents.reduce((total, document) => total + pick(document).queued, 0),
  });
  return {
    generatedAt: new Date().toISOString(),
    queues: { builds: sum((document) => document.queues.builds), evaluations: sum((document) => document.queues.evaluations) },
    inFlight: documents.flatMap((document) => document.inFlight).sort((a, b) => a.startedAt.localeCompare(b.startedAt)),
    recent: documents
      .flatMap((document) => document.recent)
      .sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''))
      .slice(0, RECENT_BUILDS_KEPT),
  };
}
