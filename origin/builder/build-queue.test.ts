import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { RegistryError } from '../../shared/errors.ts';
import { BuildQueue } from './build-queue.ts';

/** A promise settled from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function queue(concurrency: number, maxQueued: number): BuildQueue {
  return new BuildQueue({ concurrency, maxQueued, retryAfterSeconds: 7 });
}

/** Lets queued continuations (slot hand-over, task start) run. */
async function settle(): Promise<void> {
  await tick();
  await tick();
}

function isTooManyRequests(error: unknown): boolean {
  assert.ok(error instanceof RegistryError);
  assert.equal(error.code, 'TOOMANYREQUESTS');
  assert.equal(error.status, 429);
  assert.equal(error.headers['Retry-After'], '7');
  return true;
}

test('concurrent runs of one key share one task call and its result', async () => {
  const builds = queue(2, 10);
  const gate = deferred<string>();
  let calls = 0;
  const task = async (): Promise<string> => {
    calls += 1;
    return gate.promise;
  };
  const first = builds.run('image', task);
  const second = builds.run('image', task);
  gate.resolve('built');
  assert.deepEqual(await Promise.all([first, second]), ['built', 'built']);
  assert.equal(calls, 1);

  // Settled: the next run of the key builds again.
  assert.equal(await builds.run('image', task), 'built');
  assert.equal(calls, 2);
  assert.deepEqual(builds.stats, { running: 0, queued: 0, inFlight: 0 });
});

test('concurrent runs of one key share one rejection; a later run starts afresh', async () => {
  const builds = queue(1, 0);
  const gate = deferred<string>();
  let calls = 0;
  const failing = async (): Promise<string> => {
    calls += 1;
    return gate.promise;
  };
  const first = builds.run('image', failing);
  const second = builds.run('image', failing);
  const boom = new Error('nix failed');
  gate.reject(boom);
  await assert.rejects(first, (error) => error === boom);
  await assert.rejects(second, (error) => error === boom);
  assert.equal(calls, 1);
  assert.equal(await builds.run('image', async () => 'retried'), 'retried');
});

test('never runs more than `concurrency` tasks at once, and starts waiters in FIFO order', async () => {
  const builds = queue(2, 10);
  let running = 0;
  let maxRunning = 0;
  const started: string[] = [];
  const gates = new Map<string, ReturnType<typeof deferred<void>>>();
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  const runs = keys.map((key) => {
    const gate = deferred();
    gates.set(key, gate);
    return builds.run(key, async () => {
      started.push(key);
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running -= 1;
      return key;
    });
  });
  await settle();
  assert.deepEqual(started, ['a', 'b']);
  assert.deepEqual(builds.stats, { running: 2, queued: 4, inFlight: 6 });

  // Finish out of order: the freed slot goes to the oldest waiter each time.
  for (const key of ['b', 'a', 'd', 'c', 'f', 'e']) {
    gates.get(key)?.resolve();
    await settle();
  }
  assert.deepEqual(await Promise.all(runs), keys);
  assert.deepEqual(started, keys);
  assert.equal(maxRunning, 2);
  assert.deepEqual(builds.stats, { running: 0, queued: 0, inFlight: 0 });
});

test('refuses with 429 and Retry-After once maxQueued builds wait', async () => {
  const builds = queue(1, 2);
  const gate = deferred();
  const runs = ['running', 'queued-1', 'queued-2'].map((key) => builds.run(key, () => gate.promise));
  let refusedCalls = 0;
  await assert.rejects(async () => {
    await builds.run('one-too-many', async () => {
      refusedCalls += 1;
    });
  }, isTooManyRequests);
  assert.equal(refusedCalls, 0);
  assert.deepEqual(builds.stats, { running: 1, queued: 2, inFlight: 3 });

  gate.resolve();
  await Promise.all(runs);
  // Room again once the queue drained.
  assert.equal(await builds.run('one-too-many', async () => 'ok'), 'ok');
});

test('a failing task frees its slot for the next waiter and for later runs', async () => {
  const builds = queue(1, 1);
  const gate = deferred();
  const failing = builds.run('fails', async () => {
    await gate.promise;
    throw new Error('build failed');
  });
  const waiting = builds.run('waits', async () => 'next ran');
  gate.resolve();
  await assert.rejects(failing, /build failed/);
  assert.equal(await waiting, 'next ran');

  await assert.rejects(builds.run('fails-at-once', () => Promise.reject(new Error('again'))), /again/);
  assert.deepEqual(builds.stats, { running: 0, queued: 0, inFlight: 0 });
  assert.equal(await builds.run('after', async () => 'still works'), 'still works');
});

test('joining a running or queued key never counts against the queue bound', async () => {
  const builds = queue(1, 1);
  const gate = deferred<string>();
  let calls = 0;
  const task = async (): Promise<string> => {
    calls += 1;
    return gate.promise;
  };
  const running = builds.run('running', task);
  const queued = builds.run('queued', task);
  // Full (1 running, 1 queued), yet both keys can still be joined, many times.
  const joins = [1, 2, 3].flatMap(() => [builds.run('running', task), builds.run('queued', task)]);
  await assert.rejects(async () => builds.run('new', task), isTooManyRequests);
  assert.deepEqual(builds.stats, { running: 1, queued: 1, inFlight: 2 });

  gate.resolve('done');
  const results = await Promise.all([running, queued, ...joins]);
  assert.ok(results.every((result) => result === 'done'));
  assert.equal(calls, 2);
});
