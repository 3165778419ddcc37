// Edge tests run inside workerd with real (local) KV, through @cloudflare/vitest-plugin.
// A stand-in origin (a real HTTP server, edge/test/stand-in-origin.ts) answers misses.
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './edge/wrangler.test.toml' },
      miniflare: {
        bindings: {
          ORIGIN_URL: `http://127.0.0.1:${inject<number>('standInOriginPort')}`,
          // Three more stand-ins (a, b, c) for the tests of several origins; not a var of the Worker.
          STAND_IN_ORIGIN_URLS: inject<number[]>('standInOriginPorts').map((port) => `http://127.0.0.1:${port}`).join(','),
        },
      },
    })),
  ],
  test: {
    include: ['edge/**/*.test.ts'],
    globalSetup: ['./edge/test/global-setup.ts'],
    // The Worker logs one JSON line per request (edge/request-log.ts): not shown, tested on their own.
    onConsoleLog: (log) => !log.startsWith('{"msg":"request"'),
  },
});
