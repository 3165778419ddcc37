/**
 * Platforms images are built for: an OCI platform (`linux/amd64`, `linux/arm64`) and the Nix
 * system that builds it. NIXEDGE_PLATFORMS names them; the `arm64` meta-package asks for one.
 */

import type { NixSystem } from './reference.ts';

export interface Platform {
  /** As written in NIXEDGE_PLATFORMS and docker's --platform: `linux/amd64`. */
  name: string;
  os: 'linux';
  architecture: 'amd64' | 'arm64';
  /** arm64 is ARMv8 (as docker and containerd normalise it). */
  variant?: 'v8';
  system: NixSystem;
}

/** Every platform nixedge can build, by name. */
export const PLATFORMS: Readonly<Record<string, Platform>> = Object.freeze({
  'linux/amd64': { name: 'linux/amd64', os: 'linux', architecture: 'amd64', system: 'x86_64-linux' },
  'linux/arm64': { name: 'linux/arm64', os: 'linux', architecture: 'arm64', variant: 'v8', system: 'aarch64-linux' },
});

/** The platform that builds with a Nix system. */
export function platformOfSystem(system: NixSystem): Platform {
  const platform = Object.values(PLATFORMS).find((candidate) => candidate.system === system);
  if (!platform) throw new Error(`Expected a known Nix system, got ${system}`);
  return platform;
}

/** The platform descriptor of an index or manifest list entry (OCI and Docker spell it alike). */
export function platformDescriptor(platform: Platform): { architecture: string; os: string; variant?: string } {
  return { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) };
}
