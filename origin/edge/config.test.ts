/** The edge variables of origin/config.ts (beside the edge code that uses them). */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../config.ts';

const BASE = { NIXERY_PKGS_PATH: '/srv/pkgs', STORAGE_PATH: '/var/lib/nixedge' };
const SECRET = '0123456789abcdef0123456789abcdef';

test('no edge by default; 6 write-back attempts', () => {
  assert.deepEqual(loadConfig(BASE).edge, { writeBackAttempts: 6 });
  assert.deepEqual(loadConfig({ ...BASE, NIXEDGE_SHARED_SECRET: ' ', EDGE_URL: '', WRITE_BACK_ATTEMPTS: '' }).edge, { writeBackAttempts: 6 });
});

test('the secret, the edge URL (trailing slash dropped) and the attempts are read', () => {
  const config = loadConfig({ ...BASE, NIXEDGE_SHARED_SECRET: SECRET, EDGE_URL: 'https://registry.example.com/', WRITE_BACK_ATTEMPTS: '3' });
  assert.deepEqual(config.edge, { sharedSecret: SECRET, url: 'https://registry.example.com', writeBackAttempts: 3 });
});

test('a secret shorter than 32 characters is refused without echoing it', () => {
  assert.throws(
    () => loadConfig({ ...BASE, NIXEDGE_SHARED_SECRET: 'short-secret-value' }),
    (error: unknown) => error instanceof ConfigError && /NIXEDGE_SHARED_SECRET/.test(error.message) && !error.message.includes('short-secret-value'),
  );
});

test('an EDGE_URL that is not http(s) and bad attempt counts are refused', () => {
  for (const env of [{ EDGE_URL: 'registry.example.com' }, { EDGE_URL: 'ftp://x' }, { WRITE_BACK_ATTEMPTS: '0' }, { WRITE_BACK_ATTEMPTS: 'many' }]) {
    assert.throws(() => loadConfig({ ...BASE, ...env }), (error: unknown) => error instanceof ConfigError && error.message.includes(Object.keys(env)[0] ?? ''));
  }
});
