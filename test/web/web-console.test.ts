// The web console in a real browser (issue 15): Debian's chromium driven by playwright-core
// against `tsxend serve` on a TCP listener with a token. The page loads, signing in keeps the
// token out of URLs, a domain created through the CLI appears within a second, a create from the
// page shows its devices coming up, a bad config shows every problem with its caret, the actions
// drive the domain, and a dropped event stream resumes with ?since.
// TSXEND_SCREENSHOTS=DIR also writes the pages' screenshots there (docs/ holds the README's).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOnce, cli, startServe, type ServeProcess } from '../daemon/helpers/serve-process.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const dir = mkdtempSync(join(tmpdir(), 'tsxend-web-'));
const shots = process.env['TSXEND_SCREENSHOTS'] ?? join(dir, 'shots');
const TOKEN = 'web-console-test-token-0123456789';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function cfg(name: string, extra = ''): string {
  return `name = "${name}"\nmemory = 256\nvcpus = 2\nkernel = "/boot/vmlinuz"\ndisk = ['phy:/dev/vg/${name},xvda,w']\nvif = ['bridge=xenbr0']\n${extra}`;
}

const row = (page: Page, name: string) => page.locator(`tr[data-domain="${name}"]`);

async function shot(page: Page, name: string): Promise<void> {
  const path = join(shots, name);
  await page.screenshot({ path, fullPage: true });
  expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
}

// Under CI a missing chromium is a failure (scripts/install-deps.sh installs it), never a skip.
describe.runIf(hasChromium || process.env['CI'] === 'true')('the web console in headless chromium', () => {
  let d: ServeProcess;
  let ctx: BrowserContext;
  let page: Page;
  let origin: string;
  const wsUrls: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildOnce();
    const port = await freePort();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    d = await startServe({ args: ['--listen', `tcp:127.0.0.1:${port}`, '--token-file', tokenFile] });
    origin = `http://127.0.0.1:${port}`;
    mkdirSync(shots, { recursive: true });
    // As the machine's notes say: Debian's chromium, no sandbox (root), no background traffic,
    // a fresh empty profile.
    ctx = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 860 },
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('websocket', (ws) => wsUrls.push(ws.url()));
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await d?.stop();
  });

  it('loads the page and asks for the token; signing in keeps it in the session, never in a URL', async () => {
    const res = await page.goto(`${origin}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByLabel('API token').waitFor();
    await shot(page, 'web-console-login.png');
    // A wrong token is refused on the page.
    await page.getByLabel('API token').fill('not-the-token-at-all');
    await page.getByLabel('API token').press('Enter');
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Domains' }).waitFor();
    await page.getByText(/live · seq \d+/).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('tsxend-token')")).toBe(TOKEN);
    expect(page.url()).not.toContain(TOKEN);
    for (const u of wsUrls) expect(u).not.toContain(TOKEN);
    // No secret in what the daemon serves either.
    const html = await (await fetch(`${origin}/`)).text();
    expect(html).not.toContain(TOKEN);
    expect(html).not.toMatch(/<script>[^<]/); // no inline script
  });

  it('shows a domain created through the CLI within a second, with state, memory, vcpus and each device', async () => {
    const file = join(dir, 'cli1.cfg');
    writeFileSync(file, cfg('cli1'));
    const r = await cli(d.socket, 'create', '--quiet', file);
    expect(r.code).toBe(0);
    await row(page, 'cli1').waitFor({ timeout: 1000 });
    await row(page, 'cli1').getByText('running').waitFor({ timeout: 1000 });
    const text = await row(page, 'cli1').innerText();
    expect(text).toMatch(/cli1\s+\d+\s+running\s+256\s+2/);
    expect(text).toMatch(/vbd 51712 connected/);
    expect(text).toMatch(/vif 0 connected/);
  });

  it('creates a domain from a pasted config, showing each device as it comes up', async () => {
    await page.getByLabel('Domain config').fill(cfg('page1'));
    await page.getByLabel('File name').fill('page1.cfg');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'created page1' }).waitFor({ timeout: 15_000 });
    const progress = await page.getByLabel('create progress').innerText();
    for (const step of ['create.step fit', 'device.writing vbd 51712', 'device.connected vbd 51712 [ok]', 'device.connected vif 0 [ok]', 'domain.running [ok]']) expect(progress).toContain(step);
    await row(page, 'page1').getByText('running').waitFor();
    await shot(page, 'web-console.png');
  });

  it('creates from an uploaded file too', async () => {
    const file = join(dir, 'upload1.cfg');
    writeFileSync(file, cfg('upload1'));
    await page.getByLabel('Upload a file').setInputFiles(file);
    expect(await page.getByLabel('File name').inputValue()).toBe('upload1.cfg');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await row(page, 'upload1').getByText('running').waitFor({ timeout: 15_000 });
  });

  it('shows every problem of a bad config with its location and a caret', async () => {
    await page.getByLabel('Domain config').fill('name = "bad1"\nmemory = -256\nvcpus = "two"\nkernel = "/boot/vmlinuz"\ndisk = [\'phy:/a,xvda,w\', \'phy:/b,xvda,w\']\n');
    await page.getByLabel('File name').fill('bad1.cfg');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'TSX_ERR_CONFIG_SYNTAX' });
    await alert.waitFor();
    expect(await alert.innerText()).toContain('3 problems in bad1.cfg');
    const pre = await alert.locator('pre').innerText();
    expect(pre).toContain('bad1.cfg:2:10: unexpected character "-" (numbers in xl.cfg cannot be negative)\n 2 | memory = -256\n   |          ^');
    expect(pre).toContain('bad1.cfg:3:9: vcpus: expected a number');
    expect(pre).toMatch(/bad1\.cfg:5:\d+: disk\[1\]\.vdev: duplicate vdev "xvda"/);
    expect(await row(page, 'bad1').count()).toBe(0);
    await shot(page, 'web-console-error.png');
  });

  it('pauses, unpauses, shuts down and destroys from the page, by keyboard too', async () => {
    const r = row(page, 'cli1');
    await r.getByRole('button', { name: 'Pause cli1' }).click();
    await r.getByText('paused', { exact: true }).waitFor();
    // Keyboard: focus the button and press Enter.
    await r.getByRole('button', { name: 'Unpause cli1' }).focus();
    await page.keyboard.press('Enter');
    await r.getByText('running', { exact: true }).waitFor();
    await r.getByRole('button', { name: 'Shut down cli1' }).click();
    // on_poweroff = destroy (the default): the domain goes away.
    await r.waitFor({ state: 'detached', timeout: 15_000 });
    const u = row(page, 'upload1');
    await u.getByRole('button', { name: 'Destroy upload1' }).click();
    await u.getByRole('button', { name: 'Really destroy upload1' }).click();
    await u.waitFor({ state: 'detached', timeout: 15_000 });
    expect((await cli(d.socket, 'list', '--names')).stdout).not.toMatch(/^(cli1|upload1)$/m);
    const log = await page.getByLabel('Event log entries').innerText();
    expect(log).toContain('domain.destroyed');
    expect(log).toContain('domain.paused');
  });

  it('resumes a dropped event stream with ?since, missing nothing created meanwhile', async () => {
    const before = wsUrls.length;
    const seen = Number(/seq (\d+)/.exec(await page.getByText(/live · seq \d+/).innerText())?.[1]);
    await page.evaluate('window.tsxendDebug.closeStream()');
    const file = join(dir, 'gap1.cfg');
    writeFileSync(file, cfg('gap1'));
    expect((await cli(d.socket, 'create', '--quiet', file)).code).toBe(0);
    await row(page, 'gap1').getByText('running').waitFor({ timeout: 10_000 });
    const resumed = wsUrls.slice(before);
    expect(resumed.length).toBeGreaterThan(0);
    // It asks for what came after the last event it had, not for everything again.
    const since = Number(/\/v1\/events\?since=(\d+)$/.exec(resumed[0]!)?.[1]);
    expect(since).toBeGreaterThanOrEqual(seen);
    expect(pageErrors).toEqual([]);
  });
});
