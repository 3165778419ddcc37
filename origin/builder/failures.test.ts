import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RegistryError } from '../../shared/errors.ts';
import { createLogger } from '../log.ts';
import { NixError } from '../nix/run.ts';
import { failureAnswer, isRequestRefusal } from './failures.ts';

const drv = "'/nix/store/0123456789abcdfghijklmnpqrsvwxyz-broken-1.0.drv'";
const context = { requested: ['broken'], buildId: 'b1', timeoutSeconds: 60, logger: createLogger('silent') };
const realiseFailed = (stderr: string, timedOut = false): NixError =>
  new NixError('nix-store failed', { command: 'nix-store --realise', exitCode: 1, stderr, timedOut });

describe('failureAnswer: whose failure a failed build is', () => {
  it('a derivation that exits non-zero is the request\'s: 400 naming it, remembered as a refusal', () => {
    const answer = failureAnswer(realiseFailed(`error: builder for ${drv} failed with exit code 2`), context);
    assert.ok(answer instanceof RegistryError);
    assert.equal(answer.status, 400);
    assert.match(answer.message, /broken: nix failed to build broken-1\.0 \(exit code 2; build b1\)/);
    assert.ok(isRequestRefusal(answer));
  });

  it('a builder killed by a signal, a timeout and a full disk are the server\'s: 503 with Retry-After, never remembered', () => {
    for (const error of [
      realiseFailed(`error: builder for ${drv} failed due to signal 9 (Killed)`),
      realiseFailed('', true),
      realiseFailed('error: writing to file: No space left on device'),
    ]) {
      const answer = failureAnswer(error, context);
      assert.ok(answer instanceof RegistryError);
      assert.equal(answer.status, 503, answer.message);
      assert.ok(Number(answer.headers['Retry-After']) > 0, answer.message);
      assert.ok(!isRequestRefusal(answer));
    }
  });
});
