/**
 * Origins this isolate saw fail lately (refused, timed out, a 5xx that was not the registry's):
 * tried last, after the healthy ones, for UNHEALTHY_MS, so a dead or hung origin costs one miss
 * its timeout, not every miss. Per isolate and brief on purpose: no coordination, and an origin
 * back up is used again within seconds.
 */

/** How long an origin that failed is tried last. */
export const UNHEALTHY_MS = 30_000;

/** Origin URL -> until when it is tried last. */
const unhealthyUntil = new Map<string, number>();

export const originHealth = {
  /** Remembers that `origin` just failed. */
  markUnhealthy(origin: string, now: number = Date.now()): void {
    unhealthyUntil.set(origin, now + UNHEALTHY_MS);
  },
  /** Forgets a failure of `origin` (it answered). */
  markHealthy(origin: string): void {
    unhealthyUntil.delete(origin);
  },
  /** Whether `origin` failed within UNHEALTHY_MS. */
  isUnhealthy(origin: string, now: number = Date.now()): boolean {
    const until = unhealthyUntil.get(origin);
    if (until === undefined) return false;
    if (until > now) return true;
    unhealthyUntil.delete(origin);
    return false;
  },
  /** `ordered` with the healthy origins first, each group keeping its order. */
  healthyFirst(ordered: readonly string[], now: number = Date.now()): string[] {
    return [...ordered.filter((origin) => !this.isUnhealthy(origin, now)), ...ordered.filter((origin) => this.isUnhealthy(origin, now))];
  },
  /** Forgets everything (tests). */
  clear(): void {
    unhealthyUntil.clear();
  },
};
