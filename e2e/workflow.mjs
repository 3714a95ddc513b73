// Browser check of the whole team workflow on the real platform: two people sign up, one
// creates a team and invites the other, whose open dashboard shows the invitation live; they
// accept, create a cluster for the team with one of the provider's versions, watch it become
// ready live, open its terminal, run a command, and delete the cluster while the first
// person's dashboard follows along without reloading.
//
//   E2E_BASE_URL=http://127.0.0.1:8080 node e2e/workflow.mjs
import { artifact, newPerson, run, signUp, step } from "./browser.mjs";

const READY_TIMEOUT = Number(process.env.E2E_READY_TIMEOUT_MS ?? 120000);
const owner = newPerson("own");
const member = newPerson("mem");
const teamName = `team${owner.username.slice(3)}`;
const clusterName = process.env.E2E_CLUSTER_NAME ?? `c${member.username.slice(3)}`;

await run(async (open) => {
  const ownerPage = await open();
  const memberPage = await open();

  await step("two people sign up", async () => {
    await signUp(ownerPage, owner);
    await signUp(memberPage, member);
  });

  await step("the owner creates a team and invites the member", async () => {
    await ownerPage.getByRole("link", { name: "Teams" }).click();
    await ownerPage.getByLabel("Team name").fill(teamName);
    await ownerPage.getByRole("button", { name: "Create team" }).click();
    await ownerPage.getByRole("heading", { name: teamName }).waitFor();
    await ownerPage.getByLabel("Username or email").fill(member.username);
    await ownerPage.getByRole("button", { name: "Invite member" }).click();
    await ownerPage.getByRole("table", { name: "Pending invitations" }).getByText(member.username).waitFor();
  });

  await step("the member's open dashboard shows the invitation live, and they accept it", async () => {
    await memberPage.getByText(`You are invited to join ${teamName} as member`).waitFor();
    const invitation = memberPage.getByRole("alert", { name: "Invitations for you" });
    await invitation.getByText(teamName).waitFor();
    await invitation.getByText(`invited by ${owner.email}`).waitFor();
    await invitation.getByRole("button", { name: "Accept" }).click();
    await invitation.waitFor({ state: "detached" });
  });

  await step("the owner's dashboard is open and live", async () => {
    await ownerPage.getByRole("link", { name: "Clusters" }).click();
    await ownerPage.getByText("live", { exact: true }).waitFor();
  });

  await step("the member creates a cluster for the team", async () => {
    await memberPage.getByRole("button", { name: "New cluster" }).click();
    const dialog = memberPage.getByRole("dialog");
    await dialog.getByLabel("Name", { exact: true }).fill(clusterName);
    await dialog.getByRole("radiogroup", { name: "Provider" }).getByRole("radio", { name: "kind" }).waitFor();
    const version = dialog.getByRole("combobox", { name: "Kubernetes version" }).or(dialog.getByRole("textbox", { name: "Kubernetes version" })).first();
    await memberPage.waitForFunction((el) => /\(default\)$/.test(el.value), await version.elementHandle());
    await dialog.getByRole("textbox", { name: "Team" }).or(dialog.getByRole("combobox", { name: "Team" })).first().click();
    await memberPage.getByRole("option", { name: teamName }).click();
    await dialog.getByRole("button", { name: "Create" }).click();
    await memberPage.getByRole("heading", { name: clusterName }).waitFor();
  });

  await step("it becomes ready on the member's page and on the owner's dashboard, live", async () => {
    await memberPage.getByTestId("cluster-status").getByText("ready").waitFor({ timeout: READY_TIMEOUT });
    const row = ownerPage.getByTestId(`cluster-row-${clusterName}`);
    await row.getByTestId("cluster-status").getByText("ready").waitFor({ timeout: READY_TIMEOUT });
    await row.getByText(teamName).waitFor();
    await ownerPage.screenshot({ path: artifact("e2e-workflow-dashboard.png"), fullPage: true });
    await memberPage.getByLabel("Status history").getByText("ready").waitFor();
    const facts = memberPage.getByRole("region", { name: "Cluster facts" });
    await facts.getByText(/\/k8s\/clusters\//).waitFor();
    await facts.getByText(/^v1\.\d+\.\d+$/).waitFor();
    await memberPage.screenshot({ path: artifact("e2e-cluster.png"), fullPage: true });
  });

  await step("the member downloads the kubeconfig and extends the cluster", async () => {
    const [download] = await Promise.all([
      memberPage.waitForEvent("download"),
      memberPage.getByRole("button", { name: "Download kubeconfig" }).click(),
    ]);
    const path = await download.path();
    const text = (await import("node:fs")).readFileSync(path, "utf8");
    if (!text.includes("apiVersion") || download.suggestedFilename() !== `${clusterName}.kubeconfig.yaml`) {
      throw new Error(`unexpected kubeconfig ${download.suggestedFilename()}: ${text.slice(0, 80)}`);
    }
    await memberPage.getByRole("button", { name: "Extend" }).click();
    await memberPage.getByRole("dialog").getByRole("button", { name: "Extend" }).click();
    await memberPage.getByText(`${clusterName} extended by 4h`).waitFor();
  });

  await step("the member opens the terminal and runs a command", async () => {
    await memberPage.getByRole("tab", { name: "Terminal" }).click();
    await memberPage.getByText("Connected", { exact: true }).waitFor({ timeout: 30000 });
    const screen = memberPage.locator(".xterm-rows");
    await screen.click();
    await memberPage.keyboard.type("echo hello-$((6*7))\n");
    await screen.getByText("hello-42").waitFor();
    await memberPage.screenshot({ path: artifact("e2e-terminal.png") });
  });

  await step("the terminal follows the window's size", async () => {
    const screen = memberPage.locator(".xterm-rows");
    const sizes = async () => [...(await screen.innerText()).matchAll(/^(\d+) (\d+)\s*$/gm)].map((m) => `${m[1]}x${m[2]}`);
    await memberPage.keyboard.type("clear; stty size\n");
    await memberPage.waitForFunction(() => /^\d+ \d+\s*$/m.test(document.querySelector(".xterm-rows")?.innerText ?? ""));
    const [wide] = await sizes();
    await memberPage.setViewportSize({ width: 900, height: 700 });
    await memberPage.keyboard.type("clear; stty size\n");
    await memberPage.waitForFunction(
      (before) => [...document.querySelector(".xterm-rows").innerText.matchAll(/^(\d+) (\d+)\s*$/gm)].some((m) => `${m[1]}x${m[2]}` !== before),
      wide,
    );
    const [narrow] = (await sizes()).filter((size) => size !== wide);
    console.log(`     stty size ${wide} -> ${narrow}`);
    await memberPage.setViewportSize({ width: 1280, height: 800 });
  });

  await step("exiting the shell says why the session ended", async () => {
    await memberPage.keyboard.type("exit 3\n");
    await memberPage.getByText("The shell exited with code 3.").waitFor();
    await memberPage.getByRole("button", { name: "Reconnect" }).click();
    await memberPage.getByText("Connected", { exact: true }).waitFor({ timeout: 30000 });
  });

  await step("the member deletes the cluster after confirming", async () => {
    await memberPage.getByRole("button", { name: "Delete", exact: true }).click();
    await memberPage.getByRole("dialog").getByRole("button", { name: "Delete cluster" }).click();
    await memberPage.getByRole("heading", { name: "Clusters" }).waitFor();
    await ownerPage.getByTestId(`cluster-row-${clusterName}`).waitFor({ state: "detached", timeout: READY_TIMEOUT });
  });
});
