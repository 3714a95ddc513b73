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
    if (invite) {
      expect(await screen.findByRole("button", { name: "Invite member" })).toBeInTheDocument();
      expect(await screen.findByText("No pending invitations.")).toBeInTheDocument();
    } else {
      expect(screen.queryByRole("button", { name: "Invite member" })).not.toBeInTheDocument();
      expect(screen.queryByRole("heading", { name: "Pending invitations" })).not.toBeInTheDocument();
    }
    expect(screen.queryByRole("button", { name: "Delete team" }) !== null).toBe(deleteTeam);
    expect(screen.getByRole("button", { name: "Leave team" })).toBeInTheDocument();
  });
});

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
      await screen.findByText("platform");
      // Everyone who sees the cluster may use it with kubectl, as their role allows inside.
      expect(screen.getByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
      expect(screen.queryByRole("button", { name: ADMIN_KUBECONFIG }) !== null).toBe(adminKubeconfig);
      expect(screen.queryByRole("tab", { name: "Terminal" }) !== null).toBe(use);
      expect(screen.queryByRole("button", { name: "Extend" }) !== null).toBe(use);
      expect(screen.queryByRole("button", { name: "Delete" }) !== null).toBe(remove);
    },
  );

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
    await screen.findByText("platform");
    expect(screen.getByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
    // Creating a cluster gives no break-glass right: that stays with the team's admins.
    expect(screen.queryByRole("button", { name: ADMIN_KUBECONFIG })).not.toBeInTheDocument();
    expect(screen.queryByRole("tab", { name: "Terminal" }) !== null).toBe(use);
    expect(screen.queryByRole("button", { name: "Extend" }) !== null).toBe(use);
    expect(screen.queryByRole("button", { name: "Delete" }) !== null).toBe(remove);
  });

  it("gives the creator every control on a personal cluster", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("solo", me, null, "ready");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await screen.findByRole("heading", { name: "solo" });
    expect(await screen.findByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: ADMIN_KUBECONFIG })).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "Terminal" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Delete" })).toBeInTheDocument();
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
