// Shared setup of the browser checks: playwright-core from web/node_modules driving Debian's
// chromium (no browser download), the gateway URL from E2E_BASE_URL, artifacts/ for images.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, "../web/package.json"));
const { chromium } = require("playwright-core");

export const BASE = process.env.E2E_BASE_URL;
export const ARTIFACTS = resolve(process.env.E2E_ARTIFACTS ?? resolve(here, "../artifacts"));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 20000);

export function artifact(name) {
  return resolve(ARTIFACTS, name);
}

export async function step(name, action) {
  const started = Date.now();
  await action();
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

export function newPerson(prefix) {
  const suffix = Math.random().toString(36).slice(2, 8);
  return { username: `${prefix}${suffix}`, email: `${prefix}${suffix}@example.com`, password: "correct horse battery" };
}

/** Runs `scenario(browser, open)` and exits 0 on success, 1 on any failure or page error. */
export async function run(scenario) {
  if (!BASE) {
    console.error("E2E_BASE_URL is not set (the gateway's URL, e.g. http://127.0.0.1:8080)");
    process.exit(2);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const pageErrors = [];
  // `options` are Playwright's context options: colorScheme, an init script's session...
  const open = async (viewport = { width: 1280, height: 800 }, options = {}) => {
    const context = await browser.newContext({ viewport, ...options });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    return page;
  };
  try {
    await scenario(open);
    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    console.log(`PASS ${BASE}; screenshots in ${ARTIFACTS}`);
  } catch (error) {
    console.error(`FAIL ${error?.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

export async function signUp(page, person) {
  await page.goto(`${BASE}/signup`);
  await page.getByLabel("Username", { exact: true }).fill(person.username);
  await page.getByLabel("Email", { exact: true }).fill(person.email);
  await page.getByLabel("Password", { exact: true }).fill(person.password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Clusters" }).waitFor();
}
