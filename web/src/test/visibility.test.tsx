import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Role } from "../api/types";
import { renderApp, signedInStore, installGateway } from "./render";

function teamWith(role: Role) {
  const gateway = installGateway();
  const owner = gateway.addUser("olga");
  const me = gateway.addUser("mia");
  const team = gateway.addTeam("platform", role === "owner" ? [[me, "owner"]] : [[owner, "owner"], [me, role]]);
  const cluster = gateway.addCluster("dev", owner, team, "ready");
  return { gateway, me, team, cluster, owner };
}

describe("team controls by role", () => {
  it.each([
    ["viewer", false, false],
    ["member", false, false],
    ["admin", true, false],
    ["owner", true, true],
  ] as [Role, boolean, boolean][])("%s: invite %s, delete team %s", async (role, invite, deleteTeam) => {
    const { gateway, me, team } = teamWith(role);
    renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    await screen.findByRole("table", { name: "Members" });
    expect(screen.getByTestId("my-role")).toHaveTextContent(new RegExp(`^You are\\s*${role}\\s*in team platform$`));
    if (invite) {
      expect(await screen.findByRole("button", { name: "Invite member" })).toBeInTheDocument();
      expect(await screen.findByText("No pending invitations.")).toBeInTheDocument();
    } else {
      expect(screen.queryByRole("button", { name: "Invite member" })).not.toBeInTheDocument();
      expect(screen.queryByRole("heading", { name: "Pending invitations" })).not.toBeInTheDocument();
      const plural = role === "viewer" ? "Viewers" : "Members";
      expect(
        screen.getByText(`${plural} cannot invite people or see pending invitations — ask an admin of team platform.`),
      ).toBeInTheDocument();
    }
    expect(offered("Delete team")).toBe(deleteTeam);
    if (!deleteTeam) {
      expect(screen.getByRole("button", { name: "Delete team" })).toHaveAccessibleDescription(
        expect.stringMatching(/cannot delete the team — ask an owner of team platform\.$/),
      );
    }
    expect(screen.getByRole("button", { name: "Leave team" })).toBeInTheDocument();
  });
});

/** Whether the action is offered: its button is there for everyone, disabled with a reason
 * for those who may not. */
function offered(name: string): boolean {
  const button = screen.getByRole("button", { name });
  return button.getAttribute("aria-disabled") !== "true";
}

function terminalOffered(): boolean {
  return !screen.getByRole("tab", { name: "Terminal" }).hasAttribute("disabled");
}

describe("cluster controls by role", () => {
  // The cluster was created by someone else; only the caller's team role decides.
  const ADMIN_KUBECONFIG = "Download admin kubeconfig (break-glass, audited)";

  it.each([
    ["viewer", false, false, false],
    ["member", false, true, false],
    ["admin", true, true, true],
    ["owner", true, true, true],
  ] as [Role, boolean, boolean, boolean][])(
    "%s: kubeconfig, admin kubeconfig %s, terminal and extend %s, delete %s",
    async (role, adminKubeconfig, use, remove) => {
      const { gateway, me, cluster } = teamWith(role);
      renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

      await screen.findByRole("heading", { name: "dev" });
      // Controls depend on my team role, which arrives with the team list.
      expect(await screen.findByTestId("my-role")).toHaveTextContent(new RegExp(`^You are\\s*${role}\\s*in team platform$`));
      // Everyone who sees the cluster may use it with kubectl, as their role allows inside.
      expect(screen.getByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
      expect(screen.queryByRole("button", { name: ADMIN_KUBECONFIG }) !== null).toBe(adminKubeconfig);
      expect(terminalOffered()).toBe(use);
      expect(offered("Extend")).toBe(use);
      expect(offered("Delete")).toBe(remove);
    },
  );

  it("tells a viewer why each action is disabled and whom to ask", async () => {
    const { gateway, me, cluster } = teamWith("viewer");
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await screen.findByTestId("my-role");

    expect(screen.getByRole("button", { name: "Extend" })).toHaveAccessibleDescription(
      "Viewers cannot extend clusters — ask an admin of team platform.",
    );
    const remove = screen.getByRole("button", { name: "Delete" });
    expect(remove).toHaveAccessibleDescription("Viewers cannot delete clusters — ask an admin of team platform.");
    expect(screen.getByRole("tab", { name: "Terminal" })).toHaveAccessibleDescription(
      "Viewers cannot open a terminal — ask an admin of team platform.",
    );
    // The reason shows on hover too, and a click does nothing.
    await user.hover(remove);
    expect(await screen.findByRole("tooltip")).toHaveTextContent("Viewers cannot delete clusters");
    await user.click(remove);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(gateway.clusters.get(cluster.id)?.status).toBe("ready");
  });

  it("tells a member they can delete only the clusters they created", async () => {
    const { gateway, me, cluster } = teamWith("member");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await screen.findByTestId("my-role");
    expect(screen.getByRole("button", { name: "Delete" })).toHaveAccessibleDescription(
      "Members cannot delete clusters they did not create — ask an admin of team platform.",
    );
    expect(screen.getByRole("button", { name: "Extend" })).not.toHaveAttribute("aria-describedby");
  });

  it.each([
    ["member", true, true],
    // A creator lowered to viewer is offered no more than a viewer.
    ["viewer", false, false],
  ] as [Role, boolean, boolean][])("creator as %s: terminal and extend %s, delete %s", async (role, use, remove) => {
    const gateway = installGateway();
    const owner = gateway.addUser("olga");
    const me = gateway.addUser("mia");
    const team = gateway.addTeam("platform", [[owner, "owner"], [me, role]]);
    const cluster = gateway.addCluster("mine", me, team, "ready");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await screen.findByRole("heading", { name: "mine" });
    await screen.findByTestId("my-role");
    expect(screen.getByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
    // Creating a cluster gives no break-glass right: that stays with the team's admins.
    expect(screen.queryByRole("button", { name: ADMIN_KUBECONFIG })).not.toBeInTheDocument();
    expect(terminalOffered()).toBe(use);
    expect(offered("Extend")).toBe(use);
    expect(offered("Delete")).toBe(remove);
  });

  it("gives the creator every control on a personal cluster", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("solo", me, null, "ready");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await screen.findByRole("heading", { name: "solo" });
    expect(await screen.findByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: ADMIN_KUBECONFIG })).toBeInTheDocument();
    expect(terminalOffered()).toBe(true);
    expect(offered("Delete")).toBe(true);
    expect(screen.getByText("Personal cluster: only its creator sees it.")).toBeInTheDocument();
  });

  it("asks before deleting, then deletes", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("solo", me, null, "ready");
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText(/solo/)).toBeInTheDocument();
    expect(gateway.clusters.get(cluster.id)?.status).toBe("ready");
    await user.click(within(dialog).getByRole("button", { name: "Delete cluster" }));
    expect(await screen.findByRole("heading", { name: "Clusters" })).toBeInTheDocument();
    expect(gateway.clusters.get(cluster.id)?.status).toBe("deleting");
  });

  it("shows the failure reason of a failed cluster", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("broken", me, null, "failed");
    gateway.clusters.get(cluster.id)!.status_message = "ERROR: failed to create cluster: node image not found";
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    expect(await screen.findByText("Provisioning failed")).toBeInTheDocument();
    expect(screen.getByText(/node image not found/)).toBeInTheDocument();
    expect(screen.queryByRole("tab", { name: "Terminal" })).not.toBeInTheDocument();
  });
});
