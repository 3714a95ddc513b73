// Browser check: the built web app served by a running gateway, in headless Chromium.
// A person signs up, is refused with a wrong password, logs in, sees the dashboard, creates
// a team and opens it. Screenshots go to artifacts/ (E2E_ARTIFACTS to change).
//
//   E2E_BASE_URL=http://127.0.0.1:8080 node e2e/dashboard.mjs
import { artifact, BASE, newPerson, run, step } from "./browser.mjs";

const person = newPerson("e2e");
const teamName = `team${person.username.slice(3)}`;

await run(async (open) => {
  const page = await open();

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
    await page.getByTestId("current-user").click();
    await page.getByRole("menuitem", { name: "Log out" }).click();
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
    await page.screenshot({ path: artifact("e2e-dashboard.png"), fullPage: true });
  });

  await step("create a team and open it as its owner", async () => {
    await page.getByRole("link", { name: "Teams" }).click();
    await page.getByLabel("Team name").fill(teamName);
    await page.getByRole("button", { name: "Create team" }).click();
    await page.getByRole("heading", { name: teamName }).waitFor();
    await page.getByTestId(`member-${person.username}`).getByText("owner").waitFor();
    await page.getByRole("button", { name: "Invite member" }).waitFor();
    await page.screenshot({ path: artifact("e2e-team.png"), fullPage: true });
  });

  await step("the create-cluster dialog offers the new team", async () => {
    await page.getByRole("link", { name: "Clusters" }).click();
    await page.getByRole("button", { name: "New cluster" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Bad_Name");
    await page.getByText("Use lowercase letters only").waitFor();
    await page.getByRole("textbox", { name: "Team", exact: true }).or(page.getByRole("combobox", { name: "Team", exact: true })).first().click();
    await page.getByRole("option", { name: teamName }).waitFor();
    await page.keyboard.press("Escape");
    await page.screenshot({ path: artifact("e2e-create-cluster.png") });
  });

  await step("a narrow window still shows the dashboard", async () => {
    await page.keyboard.press("Escape");
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(BASE);
    await page.getByRole("heading", { name: "Clusters" }).waitFor();
    await page.screenshot({ path: artifact("e2e-narrow.png"), fullPage: true });
  });
});
