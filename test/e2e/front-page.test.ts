/**
 * End to end in a browser: Debian's Chromium, driven by playwright-core, loads the front page
 * from the edge of `npm start`'s stack (the Worker under wrangler dev, the real origin building
 * the fixture packages with nix behind it) and uses it as a person would: composes shell/hello,
 * presses Check and sees it become ready; an unknown package shows the registry's suggestion (one
 * click uses it); a package that fails to build shows the reason its pull gets; a slow build shows
 * its step live, then the timeout; without JavaScript the form still composes the pull command;
 * a registry URL opened in the browser is a readable page. Screenshots are written to a directory
 * the test prints (NIXEDGE_SCREENSHOTS, else <tmp>/nixedge-screenshots).
 */

import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startOrigin, FIXTURE_PKGS, type RunningOrigin } from '../../local-stack/origin-process.ts';
import { startLocalEdge, type LocalEdge } from '../../local-stack/index.ts';
import { freePort } from '../../local-stack/wrangler-dev.ts';
import { tempDir } from './clients.ts';

const CHROMIUM = '/usr/bin/chromium';
/** No network of its own, no background services: the browser talks to the local stack only. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = process.env['NIXEDGE_SCREENSHOTS'] ?? join(tmpdir(), 'nixedge-screenshots');
/** A cold build of the fixtures takes seconds; the first one after a fresh store, longer. */
const BUILD_TIMEOUT_MS = 120_000;

/** A headless Chromium with a fresh profile (its own --user-data-dir), removed by `close`. */
async function browser(options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = await tempDir('chromium-profile');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1100, height: 1300 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await profile.cleanup();
    },
  };
}

/** Writes a screenshot of `page` and prints where it is. */
async function screenshot(t: TestContext, page: Page, name: string, fullPage = false): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, name);
  await page.screenshot({ path, fullPage });
  t.diagnostic(`screenshot: ${path}`);
  return path;
}

/** Types `packages` into the form (shell ticked or not) and presses Check. */
async function check(page: Page, packages: string, shell = true): Promise<void> {
  await page.fill('#packages', packages);
  await page.setChecked('#shell', shell);
  await page.click('#check');
}

describe('the front page in a browser', () => {
  let local: LocalEdge;
  let origin: RunningOrigin;
  let state: { path: string; cleanup: () => Promise<void> };
  let chrome: Awaited<ReturnType<typeof browser>>;
  let host = '';
  const errors: string[] = [];

  before(async () => {
    state = await tempDir('front-page-state');
    local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, NIX_TIMEOUT: '8' });
    host = new URL(local.edge.url).host;
    chrome = await browser();
    chrome.context.on('page', (page) => page.on('pageerror', (error) => errors.push(error.message)));
  });
  after(async () => {
    await chrome.close();
    await origin.stop();
    await local.edge.stop();
    await state.cleanup();
  });

  /** A fresh tab on the edge's front page. */
  async function open(): Promise<Page> {
    const page = await chrome.context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    const response = await page.goto(`${local.edge.url}/`);
    assert.equal(response?.status(), 200);
    return page;
  }

  it('composes shell/hello with this host, checks it, and shows it ready with its layers and size', async (t) => {
    const page = await open();
    assert.equal(await page.textContent('#pull'), `docker pull ${host}/shell/git/htop`, "the example uses the edge's own address");
    assert.ok(await page.isVisible('#check'), 'the script shows Check');
    await check(page, 'hello');
    assert.equal(await page.textContent('#pull'), `docker pull ${host}/shell/hello`);
    const ready = page.locator('#answer[data-state="ready"]');
    await ready.waitFor({ timeout: BUILD_TIMEOUT_MS });
    assert.match((await ready.textContent()) ?? '', /^Ready: \d+ layers, [\d.]+ (MB|kB) compressed/);
    assert.match((await ready.textContent()) ?? '', new RegExp(`docker pull ${host.replaceAll('.', '\\.')}/shell/hello`));
    // The builds list picks the build up within its 2 s refresh.
    await page.locator('#builds-table', { hasText: 'shell/hello' }).waitFor({ timeout: 10_000 });
    await screenshot(t, page, 'front-page-ready.png');
    await screenshot(t, page, 'front-page-full.png', true);
    assert.deepEqual(errors, [], 'no script errors');
    await page.close();
  });

  it('ticking zstd composes shell/zstd/hello, and Check shows that image ready', async () => {
    const page = await open();
    await page.setChecked('#zstd', true);
    await check(page, 'hello');
    assert.equal(await page.textContent('#pull'), `docker pull ${host}/shell/zstd/hello`);
    const ready = page.locator('#answer[data-state="ready"]');
    await ready.waitFor({ timeout: BUILD_TIMEOUT_MS });
    assert.match((await ready.textContent()) ?? '', /^Ready: \d+ layers, [\d.]+ (MB|kB) compressed/);
    assert.deepEqual(errors, [], 'no script errors');
    await page.close();
  });

  it('fits a phone: one column, nothing wider than the screen', async (t) => {
    const page = await open();
    await page.setViewportSize({ width: 390, height: 844 });
    // Evaluated in the page (test code has no DOM types): the page's width and the screen's.
    const [scrollWidth, innerWidth] = await page.evaluate<number[]>('[document.documentElement.scrollWidth, window.innerWidth]');
    assert.ok(scrollWidth !== undefined && innerWidth !== undefined && scrollWidth <= innerWidth, `page ${scrollWidth} px wide on a ${innerWidth} px screen`);
    await screenshot(t, page, 'front-page-phone.png');
    await page.close();
  });

  it('shows an unknown package with the suggestion the registry gives; one click uses it', async (t) => {
    const page = await open();
    await check(page, 'helo');
    const unknown = page.locator('#answer[data-state="unknown"]');
    await unknown.waitFor({ timeout: BUILD_TIMEOUT_MS });
    const text = (await unknown.textContent()) ?? '';
    assert.match(text, /Unknown package/);
    assert.match(text, /helo: no attribute "helo" \(did you mean hello\?\)/);
    await screenshot(t, page, 'front-page-unknown.png');
    await page.click('#answer button.suggestion:text-is("hello")');
    assert.equal(await page.inputValue('#packages'), 'hello');
    await page.locator('#answer[data-state="ready"]').waitFor({ timeout: BUILD_TIMEOUT_MS });
    await page.close();
  });

  it("shows the reason a package cannot be built, as the pull's client prints it", async (t) => {
    const page = await open();
    await check(page, 'broken');
    const failed = page.locator('#answer[data-state="error"]');
    await failed.waitFor({ timeout: BUILD_TIMEOUT_MS });
    const text = (await failed.textContent()) ?? '';
    assert.match(text, /This image cannot be built \(400\)/);
    assert.match(text, /broken: nix failed to build broken-1\.0 \(exit code 1; build [0-9a-f]{8}\)/);
    assert.doesNotMatch(text, /SECRET-INTERNAL-DETAIL/, "the build log stays in the origin's log");
    await screenshot(t, page, 'front-page-broken.png');
    await page.close();
  });

  it('shows a slow build live at its step, then the time limit it ran into', async (t) => {
    const page = await open();
    await check(page, 'slow', false);
    const building = page.locator('#answer[data-state="building"]', { hasText: 'building the packages with nix' });
    await building.waitFor({ timeout: 30_000 });
    assert.match((await building.textContent()) ?? '', /linux\/amd64: building the packages with nix \(\d+ s\)/);
    await page.locator('#builds-table', { hasText: 'slow' }).waitFor({ timeout: 10_000 });
    await screenshot(t, page, 'front-page-building.png');
    const failed = page.locator('#answer[data-state="error"]');
    await failed.waitFor({ timeout: 60_000 });
    const text = (await failed.textContent()) ?? '';
    assert.match(text, /The registry could not answer \(503\)/);
    assert.match(text, /took longer than this registry allows \(NIX_TIMEOUT, 8 s; build [0-9a-f]{8}\)/, "the build's own reason, from the status");
    await page.close();
  });

  it('opens a failing registry URL as a readable page with the same status', async () => {
    const page = await chrome.context.newPage();
    const response = await page.goto(`${local.edge.url}/v2/shell/helo/manifests/latest`);
    assert.equal(response?.status(), 404);
    assert.match((await page.textContent('#message')) ?? '', /did you mean hello\?/);
    assert.ok(await page.isVisible(`text=docker pull ${host}/shell/helo`));
    await page.close();
  });

  it('composes the pull command without JavaScript (Check needs it and is not shown)', async () => {
    const plain = await browser({ javaScriptEnabled: false });
    try {
      const page = await plain.context.newPage();
      await page.goto(`${local.edge.url}/`);
      assert.equal(await page.isVisible('#check'), false);
      await page.fill('#packages', 'jq curl');
      await page.setChecked('#arm64', true);
      await page.setChecked('#zstd', true);
      await page.fill('#tag', 'nixos-24.05');
      await Promise.all([page.waitForURL(/packages=jq/), page.click('button[type="submit"]')]);
      assert.equal(await page.textContent('#pull'), `docker pull ${host}/shell/arm64/zstd/jq/curl:nixos-24.05`);
    } finally {
      await plain.close();
    }
  });
});

describe('the front page of a registry of two platforms, in a browser', () => {
  it('checks shell/hello and shows it ready on both platforms, each with its layers and size', async (t) => {
    const state = await tempDir('front-page-platforms-state');
    const local = await startLocalEdge({ persistTo: state.path, originPort: await freePort() });
    const origin = await startOrigin({ ...local.originEnv, NIXERY_PKGS_PATH: FIXTURE_PKGS, NIXEDGE_PLATFORMS: 'linux/amd64,linux/arm64' });
    const chrome = await browser();
    try {
      const page = await chrome.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      assert.equal((await page.goto(`${local.edge.url}/`))?.status(), 200);
      await check(page, 'hello');
      const ready = page.locator('#answer[data-state="ready"]');
      await ready.waitFor({ timeout: BUILD_TIMEOUT_MS });
      // The HEAD answered an OCI index; the page reads each platform's manifest through it.
      assert.match((await ready.textContent()) ?? '', /^Ready: linux\/amd64: \d+ layers, [\d.]+ (MB|kB) compressed; linux\/arm64: \d+ layers, [\d.]+ (MB|kB) compressed/);
      await screenshot(t, page, 'front-page-two-platforms.png');
      assert.deepEqual(errors, [], 'no script errors');
    } finally {
      await chrome.close();
      await origin.stop();
      await local.edge.stop();
      await state.cleanup();
    }
  });
});
