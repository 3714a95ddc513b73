// Browser check of how the main pages look: each page at desktop width, at 390 px (a phone)
// and with a dark system theme, saved as screenshots in artifacts/screenshots/ (CI keeps
// artifacts/), with an assertion at each that fails when the layout does: every column of a
// list reachable at 390 px, the signed-in user shown, a dark page in dark mode, dimmed text
// readable (WCAG AA 4.5:1) in both schemes, and the chosen scheme remembered.
//
//   E2E_BASE_URL=http://127.0.0.1:8080 node e2e/screens.mjs
import { mkdirSync } from "node:fs";
import { artifact, BASE, newPerson, run, signUp, step } from "./browser.mjs";

const person = newPerson("scr");
const teamName = `team${person.username.slice(3)}`;
const clusterName = process.env.E2E_CLUSTER_NAME ?? `s${person.username.slice(3)}`;
const MODES = {
  desktop: { viewport: { width: 1280, height: 800 }, options: { colorScheme: "light" } },
  narrow: { viewport: { width: 390, height: 844 }, options: { colorScheme: "light", isMobile: true, hasTouch: true } },
  dark: { viewport: { width: 1280, height: 800 }, options: { colorScheme: "dark" } },
};
mkdirSync(artifact("screenshots"), { recursive: true });

/** A call to the gateway with the page's session, as the app makes it. */
function api(page, method, path, body) {
  return page.evaluate(
    async ([method, path, body]) => {
      const session = JSON.parse(localStorage.getItem("pyk8s.session"));
      const response = await fetch(`/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    [method, path, body],
  );
}

async function shoot(page, mode, name) {
  await page.screenshot({ path: artifact(`screenshots/${mode}-${name}.png`), fullPage: true });
}

/** WCAG contrast of an element's text against the page background, from the computed styles. */
function contrastOf(locator) {
  return locator.evaluate((element) => {
    const rgb = (css) => css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const luminance = ([r, g, b]) => {
      const [R, G, B] = [r, g, b].map((v) => {
        const c = v / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const text = luminance(rgb(getComputedStyle(element).color));
    const page = luminance(rgb(getComputedStyle(document.body).backgroundColor));
    return (Math.max(text, page) + 0.05) / (Math.min(text, page) + 0.05);
  });
}

async function bodyLuminance(page) {
  return page.evaluate(() => {
    const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  });
}

/** Fails when `locator` is not fully inside the viewport's width (hidden off to the right). */
async function onScreen(page, locator, what) {
  await locator.waitFor();
  const box = await locator.boundingBox();
  const width = page.viewportSize().width;
  if (!box || box.x < 0 || box.x + box.width > width + 1) {
    throw new Error(`${what} is not within the ${width} px wide window: ${JSON.stringify(box)}`);
  }
}

await run(async (open) => {
  const first = await open();
  let session;
  let teamId;
  let clusterId;

  await step("a person with a team and a team cluster", async () => {
    await signUp(first, person);
    session = await first.evaluate(() => localStorage.getItem("pyk8s.session"));
    const team = await api(first, "POST", "/teams", { name: teamName });
    if (team.status !== 201) throw new Error(`creating the team: ${JSON.stringify(team)}`);
    teamId = team.body.id;
    const cluster = await api(first, "POST", "/clusters", { name: clusterName, provider: "kind", team_id: teamId, ttl_hours: 4 });
    if (cluster.status !== 202) throw new Error(`creating the cluster: ${JSON.stringify(cluster)}`);
    clusterId = cluster.body.id;
  });

  for (const [mode, { viewport, options }] of Object.entries(MODES)) {
    const signedOut = await open(viewport, options);
    await step(`${mode}: the login page names the product`, async () => {
      await signedOut.goto(`${BASE}/login`);
      await signedOut.getByRole("heading", { name: "Log in" }).waitFor();
      await signedOut.getByTestId("product-name").getByText("PyK8s-Lab").waitFor();
      await shoot(signedOut, mode, "login");
    });

    // The same session as the first window, as if this person opened another device.
    const page = await open(viewport, { ...options, storageState: { cookies: [], origins: [{ origin: new URL(BASE).origin, localStorage: [{ name: "pyk8s.session", value: session }] }] } });

    await step(`${mode}: the clusters list shows every column and who is signed in`, async () => {
      await page.goto(BASE);
      const row = page.getByTestId(`cluster-row-${clusterName}`);
      await row.waitFor();
      await onScreen(page, page.getByTestId("current-user").getByText(person.username), "the signed-in user");
      if (mode === "narrow") {
        // One card per cluster: each column's name and value inside the window.
        for (const label of ["Team", "Created by", "Age", "Time left"]) {
          await onScreen(page, row.locator(`td[data-label="${label}"]`).getByText(label, { exact: true }), `the ${label} label`);
        }
        await onScreen(page, row.getByText(teamName), "the cluster's team");
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 0) throw new Error(`the page scrolls sideways by ${overflow} px`);
      } else {
        await onScreen(page, page.getByRole("columnheader", { name: "Time left" }), "the Time left column");
      }
      await shoot(page, mode, "clusters");
    });

    await step(`${mode}: the colour scheme is the system's, dimmed text readable`, async () => {
      const dark = mode === "dark";
      const scheme = await page.evaluate(() => document.documentElement.getAttribute("data-mantine-color-scheme"));
      if (scheme !== (dark ? "dark" : "light")) throw new Error(`${mode}: the page's scheme is ${scheme}`);
      const luminance = await bodyLuminance(page);
      if (dark ? luminance > 0.2 : luminance < 0.8) throw new Error(`${mode}: the body's luminance is ${luminance}`);
    });

    await step(`${mode}: the team page says my role, its members and clusters fit`, async () => {
      await page.goto(`${BASE}/teams/${teamId}`);
      const role = page.getByTestId("my-role");
      await role.getByText("owner").waitFor();
      const ratio = await contrastOf(role.getByText("You are"));
      if (ratio < 4.5) throw new Error(`${mode}: dimmed text contrast is ${ratio.toFixed(2)}:1, under 4.5:1`);
      await onScreen(page, page.getByTestId(`member-${person.username}`).getByText("owner"), "the member's role");
      // The team's clusters, with who made each; the screenshot waits for every section.
      const row = page.getByTestId(`cluster-row-${clusterName}`);
      await onScreen(page, row.locator('td[data-label="Created by"]').getByText("you", { exact: true }), "the cluster's creator");
      await page.getByText("No pending invitations.").waitFor();
      await shoot(page, mode, "team");
    });

    await step(`${mode}: the teams list and the cluster page`, async () => {
      await page.goto(`${BASE}/teams`);
      await onScreen(page, page.getByRole("table", { name: "My teams" }).getByText("owner"), "my role in the team");
      await shoot(page, mode, "teams");
      await page.goto(`${BASE}/clusters/${clusterId}`);
      await page.getByRole("heading", { name: clusterName }).waitFor();
      await shoot(page, mode, "cluster");
      await onScreen(page, page.getByTestId("cluster-status"), "the cluster's status");
      await onScreen(page, page.getByRole("button", { name: "Delete" }), "the Delete button");
      await onScreen(page, page.getByTestId("my-role").getByText("owner"), "my role in the cluster's team");
    });
    await signedOut.context().close();
    await page.context().close();
  }

  await step("dark mode chosen in the menu wins over a light system, and is remembered", async () => {
    await first.goto(BASE);
    await first.getByTestId("current-user").click();
    // The segmented control's radios are visually hidden behind their labels.
    await first.getByRole("radiogroup", { name: "Colour scheme" }).locator("label", { hasText: "Dark" }).click();
    await first.waitForFunction(() => document.documentElement.getAttribute("data-mantine-color-scheme") === "dark");
    await first.keyboard.press("Escape");
    await first.reload();
    await first.getByTestId(`cluster-row-${clusterName}`).waitFor();
    const scheme = await first.evaluate(() => document.documentElement.getAttribute("data-mantine-color-scheme"));
    if (scheme !== "dark" || (await bodyLuminance(first)) > 0.2) throw new Error(`after a reload the scheme is ${scheme}`);
    await shoot(first, "dark", "chosen");
  });

  await step("the cluster is deleted", async () => {
    const deleted = await api(first, "DELETE", `/clusters/${clusterId}`);
    if (deleted.status >= 300) throw new Error(`deleting the cluster: ${JSON.stringify(deleted)}`);
  });
});
