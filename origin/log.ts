/** Structured logs: one JSON line per request and per build step, with its duration. */

import { pino, type Logger } from 'pino';

export type { Logger };

/** The origin's root logger (JSON lines on stdout). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'nixedge-origin' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Runs one build step and logs it with its duration, whether it succeeds or fails. */
export async function timed<T>(logger: Logger, step: string, run: () => Promise<T>, fields: Record<string, unknown> = {}): Promise<T> {
  const started = performance.now();
  try {
    const result = await run();
    logger.info({ step, durationMs: Math.round(performance.now() - started), ...fields }, `${step} done`);
    return result;
  } catch (error) {
    logger.warn({ step, durationMs: Math.round(performance.now() - started), err: error, ...fields }, `${step} failed`);
    throw error;
  }
}
