// Browser check: the built web app served by a running gateway, in headless Chromium.
// A person signs up, is refused with a wrong password, logs in, sees the dashboard, creates
// a team and opens it. Screenshots go to artifacts/ (E2E_ARTIFACTS to change).
//
//   E2E_BASE_URL=http://127.0.0.1:8080 node e2e/dashboard.mjs
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// playwright-core is a dev dependency of the web app; no browser is downloaded.
const require = createRequire(resolve(here, "../web/package.json"));
const { chromium } = require("playwright-core");

const BASE = process.env.E2E_BASE_URL;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = resolve(process.env.E2E_ARTIFACTS ?? resolve(here, "../artifacts"));
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 20000);

if (!BASE) {
  console.error("E2E_BASE_URL is not set (the gateway's URL, e.g. http://127.0.0.1:8080)");
  process.exit(2);
}

const suffix = Math.random().toString(36).slice(2, 8);
const person = { username: `e2e${suffix}`, email: `e2e${suffix}@example.com`, password: "correct horse battery" };
const teamName = `team${suffix}`;

async function step(name, action) {
  const started = Date.now();
  await action();
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function main() {
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
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(String(error)));

    await step("the app loads and asks to log in", async () => {
      await page.goto(BASE);
      await page.getByRole("heading", { name: "Log in" }).waitFor();
    });

    await step("sign up lands on the dashboard", async () => {
      await page.getByRole("link", { name: "Sign up" }).click();
      await page.getByLabel("Username", { exact: true }).fill(person.username);
      await page.getByLabel("Email", { exact: true }).fill(person.email);
      await page.getByLabel("Password", { exact: true }).fill(person.password);
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.getByRole("heading", { name: "Clusters" }).waitFor();
      await page.getByText("No clusters yet").waitFor();
      await page.getByTestId("current-user").getByText(person.username).waitFor();
    });

    await step("the session survives a reload", async () => {
      await page.reload();
      await page.getByText("No clusters yet").waitFor();
    });

    await step("log out, a wrong password is refused clearly", async () => {
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await page.getByLabel("Username or email").fill(person.username);
      await page.getByLabel("Password", { exact: true }).fill("not the password");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText("Wrong username, email or password.").waitFor();
    });

    await step("log in and see the dashboard", async () => {
      await page.getByLabel("Password", { exact: true }).fill(person.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Clusters" }).waitFor();
      await page.getByText("No clusters yet").waitFor();
      // The live event stream connects with the access token.
      await page.getByText("live", { exact: true }).waitFor();
      await page.screenshot({ path: resolve(ARTIFACTS, "e2e-dashboard.png"), fullPage: true });
    });

    await step("create a team and open it as its owner", async () => {
      await page.getByRole("link", { name: "Teams" }).click();
      await page.getByLabel("Team name").fill(teamName);
      await page.getByRole("button", { name: "Create team" }).click();
      await page.getByRole("heading", { name: teamName }).waitFor();
      await page.getByTestId(`member-${person.username}`).getByText("owner").waitFor();
      await page.getByRole("button", { name: "Invite member" }).waitFor();
      await page.screenshot({ path: resolve(ARTIFACTS, "e2e-team.png"), fullPage: true });
    });

    await step("the create-cluster dialog offers the new team", async () => {
      await page.getByRole("link", { name: "Clusters" }).click();
      await page.getByRole("button", { name: "New cluster" }).click();
      await page.getByLabel("Name", { exact: true }).fill("Bad_Name");
      await page.getByText("Use lowercase letters only").waitFor();
      await page.getByRole("textbox", { name: "Team" }).or(page.getByRole("combobox", { name: "Team" })).first().click();
      await page.getByRole("option", { name: teamName }).waitFor();
      await page.keyboard.press("Escape");
      await page.screenshot({ path: resolve(ARTIFACTS, "e2e-create-cluster.png") });
    });

    await step("a narrow window still shows the dashboard", async () => {
      await page.keyboard.press("Escape");
      await page.setViewportSize({ width: 390, height: 800 });
      await page.goto(BASE);
      await page.getByRole("heading", { name: "Clusters" }).waitFor();
      await page.screenshot({ path: resolve(ARTIFACTS, "e2e-narrow.png"), fullPage: true });
    });

    if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join("; ")}`);
    console.log(`PASS ${BASE} as ${person.username}; screenshots in ${ARTIFACTS}`);
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(`FAIL ${error?.stack ?? error}`);
  process.exit(1);
});
