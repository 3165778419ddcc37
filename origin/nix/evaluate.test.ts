import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { closeMatches, describeUnresolved, evaluatePackages, type UnresolvedPackage } from './evaluate.ts';

const FIXTURE_PKGS = fileURLToPath(new URL('../../test/fixtures/pkgs', import.meta.url));

test('closeMatches: the intended name first, case-insensitively, at most three, nothing unrelated', () => {
  const top = ['hello', 'htop', 'git', 'gitFull', 'gitMinimal', 'gitSVN', 'python3', 'python3Full', 'python311', 'bashInteractive', 'jq'];
  const cases: [wanted: string, expected: string[]][] = [
    ['helo', ['hello']],
    ['htpo', ['htop']],
    ['gti', ['git']],
    ['pyton3', ['python3']],
    ['pythn3ful', ['python3Full']],
    ['python', ['python3', 'python311', 'python3Full']], // prefixes count, at most three, closest first
    ['bashinteractiv', ['bashInteractive']], // lower-case request, camel-case attribute
    ['gitfull', ['gitFull']], // same name but for case: distance 0
    ['gitful', ['gitFull']],
    ['git', ['git', 'gitSVN', 'gitFull']],
    ['firefox', []],
    ['zzzzzzzz', []],
  ];
  for (const [wanted, expected] of cases) {
    assert.deepEqual(closeMatches(wanted, top), expected, wanted);
  }
  assert.deepEqual(closeMatches('hello', []), []);
});

test('describeUnresolved: one line per reason', () => {
  const base = { requested: 'python3packages.nmupy', resolved: ['python3Packages'], wanted: 'nmupy' };
  const cases: [UnresolvedPackage, string][] = [
    [
      { ...base, reason: 'unknown', suggestions: ['numpy', 'numba'] },
      'python3packages.nmupy: no attribute "nmupy" in python3Packages (did you mean numpy, numba?)',
    ],
    [{ ...base, reason: 'unknown', suggestions: [] }, 'python3packages.nmupy: no attribute "nmupy" in python3Packages'],
    [
      { requested: 'helo', resolved: [], wanted: 'helo', reason: 'unknown', suggestions: ['hello'] },
      'helo: no attribute "helo" (did you mean hello?)',
    ],
    [
      { requested: 'samename', resolved: [], wanted: 'samename', reason: 'ambiguous', suggestions: ['SameName', 'sameName'] },
      'samename: "samename" matches SameName, sameName case-insensitively',
    ],
    [
      { requested: 'python3packages', resolved: [], wanted: 'python3packages', reason: 'not-a-package', suggestions: [] },
      'python3packages: is a package set, not a package',
    ],
    [
      { requested: 'insecure', resolved: [], wanted: 'insecure', reason: 'evaluation-error', suggestions: [] },
      'insecure: fails to evaluate (it may be broken, insecure or removed)',
    ],
  ];
  for (const [unresolved, line] of cases) {
    assert.equal(describeUnresolved(unresolved), line);
  }
});

test('evaluatePackages against the fixture package set (real nix)', async () => {
  const injection = 'hello.${builtins.abort "evaluated"}';
  const evaluation = await evaluatePackages({
    source: { kind: 'path', path: FIXTURE_PKGS },
    system: 'x86_64-linux',
    packages: ['hello', 'python3packages.numpy', 'bashinteractive', 'helo', 'samename', 'python3packages', 'python3packages.nope', injection],
    signal: AbortSignal.timeout(60_000),
  });

  assert.deepEqual(
    evaluation.packages.map((p) => [p.requested, p.attrPath.join('.')]),
    [
      ['hello', 'hello'],
      ['python3packages.numpy', 'python3Packages.numpy'],
      ['bashinteractive', 'bashInteractive'],
    ],
  );
  for (const p of evaluation.packages) {
    assert.match(p.drvPath, /^\/nix\/store\/[0-9a-z]{32}-.+\.drv$/);
    assert.deepEqual(p.outputs.map((o) => o.name), ['out']);
    assert.match(p.outputs[0]?.path ?? '', new RegExp(`^/nix/store/[0-9a-z]{32}-${p.name.replaceAll('.', '\\.')}$`));
  }
  assert.equal(evaluation.packages[0]?.name, 'hello-2.12.1');

  assert.deepEqual(
    evaluation.unresolved.map(({ requested, reason, resolved, wanted, suggestions }) => ({ requested, reason, resolved, wanted, suggestions })),
    [
      { requested: 'helo', reason: 'unknown', resolved: [], wanted: 'helo', suggestions: ['hello'] },
      { requested: 'samename', reason: 'ambiguous', resolved: [], wanted: 'samename', suggestions: ['SameName', 'sameName'] },
      { requested: 'python3packages', reason: 'not-a-package', resolved: [], wanted: 'python3packages', suggestions: [] },
      { requested: 'python3packages.nope', reason: 'unknown', resolved: ['python3Packages'], wanted: 'nope', suggestions: [] },
      // Nix syntax in a name is data: looked up as an attribute name, never evaluated (abort would fail the run).
      { requested: injection, reason: 'unknown', resolved: ['hello'], wanted: '${builtins', suggestions: [] },
    ],
  );
});

test('evaluatePackages treats a whole name of Nix syntax as an attribute name', async () => {
  const names = ['${builtins.abort "evaluated"}', 'a"b', "''${x}", 'import /etc/passwd'];
  const evaluation = await evaluatePackages({
    source: { kind: 'path', path: FIXTURE_PKGS },
    system: 'x86_64-linux',
    packages: names,
    signal: AbortSignal.timeout(60_000),
  });
  assert.deepEqual(evaluation.packages, []);
  assert.deepEqual(
    evaluation.unresolved.map((u) => [u.requested, u.reason]),
    names.map((name) => [name, 'unknown']),
  );
});
