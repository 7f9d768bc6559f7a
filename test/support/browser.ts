import { execFileSync } from 'node:child_process';
import puppeteer, { type Browser, type ConsoleMessage, type Page } from 'puppeteer-core';

/** Debian's chromium (or CHROMIUM_PATH): npm test installs it when run as root. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (npm test installs it when run as root)');
  }
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage'],
  });
}

/**
 * A page (at `url`, when given) that records in `logged` every console error or warning, uncaught error, CSP violation and failed
 * request, so a test can require there were none.
 */
export async function openLoggedPage(
  browser: Browser,
  url: string | undefined,
  logged: string[],
  width: number,
): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900, deviceScaleFactor: 1 });
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error' || message.type() === 'warn') {
      logged.push(`console ${message.type()}: ${message.text()} (${message.location().url ?? ''})`);
    }
  });
  page.on('pageerror', (error) => logged.push(`page error: ${error instanceof Error ? error.message : error}`));
  page.on('requestfailed', (request) => {
    // Chromium reports a 204 answer to fetch as a failed load (net::ERR_ABORTED) over the DevTools protocol.
    if (request.response()?.status() === 204) return;
    logged.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  // Runs before the page's scripts, outside its CSP: a violation is reported even where nothing else logs it.
  await page.evaluateOnNewDocument(() => {
    (
      globalThis as unknown as {
        document: { addEventListener(type: string, listener: (event: unknown) => void): void };
      }
    ).document.addEventListener('securitypolicyviolation', (event) => {
      const e = event as { violatedDirective: string; blockedURI: string };
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  if (url) await page.goto(url, { waitUntil: 'networkidle0' });
  return page;
}
