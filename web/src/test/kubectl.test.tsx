import { screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Role } from "../api/types";
import { renderApp, signedInStore, installGateway } from "./render";

const ADMIN_BUTTON = "Download admin kubeconfig (break-glass, audited)";

/** Files the page hands to the browser to save, with their contents. */
let saved: { name: string; text: Promise<string> }[] = [];

beforeEach(() => {
  saved = [];
  // jsdom has no object URLs and does not download: record what the page saves instead.
  const blobs = new Map<string, Blob>();
  URL.createObjectURL = (blob: Blob) => {
    const url = `blob:test-${blobs.size}`;
    blobs.set(url, blob as Blob);
    return url;
  };
  URL.revokeObjectURL = () => {};
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
    saved.push({ name: this.download, text: blobs.get(this.href)!.text() });
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function readyCluster(role: Role) {
  const gateway = installGateway();
  const owner = gateway.addUser("olga");
  const me = gateway.addUser("mia");
  const team = gateway.addTeam("platform", role === "owner" ? [[me, "owner"]] : [[owner, "owner"], [me, role]]);
  const cluster = gateway.addCluster("dev", owner, team, "ready");
  return { gateway, me, cluster };
}

async function kubectlSection() {
  const section = await screen.findByRole("region", { name: "Use with kubectl" });
  // The admin action depends on my team role, which arrives with the team list.
  await screen.findByText("platform");
  return section;
}

describe("using a cluster with kubectl", () => {
  it("shows the commands that merge the cluster and use its context", async () => {
    const { gateway, me, cluster } = readyCluster("viewer");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    const section = await kubectlSection();
    expect(within(section).getByLabelText("kubectl commands").textContent).toBe(
      [
        "pyk8s login --server http://localhost:3000",
        `pyk8s cluster kubeconfig ${cluster.id} --merge`,
        "kubectl --context pyk8s-dev get nodes",
      ].join("\n"),
    );
  });

  it("downloads the kubeconfig that runs the CLI for its tokens", async () => {
    const { gateway, me, cluster } = readyCluster("viewer");
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    const section = await kubectlSection();
    await user.click(within(section).getByRole("button", { name: "Download kubeconfig" }));

    await vi.waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0].name).toBe("dev.kubeconfig.yaml");
    const text = await saved[0].text;
    expect(text).toContain(`server: "http://localhost:3000/k8s/clusters/${cluster.id}"`);
    expect(text).toContain("command: pyk8s");
    expect(text).not.toMatch(/token|client-key-data/);
    expect(gateway.adminKubeconfigReads).toEqual([]);
  });

  it("asks before the break-glass download, and downloads only when confirmed", async () => {
    const { gateway, me, cluster } = readyCluster("admin");
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    const section = await kubectlSection();

    await user.click(within(section).getByRole("button", { name: ADMIN_BUTTON }));
    let dialog = await screen.findByRole("dialog", { name: "Download the admin kubeconfig?" });
    expect(within(dialog).getByText(/break-glass/)).toBeInTheDocument();
    expect(within(dialog).getByText(/audit log/)).toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await vi.waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(gateway.requests.filter((r) => r.path.endsWith("/kubeconfig/admin"))).toEqual([]);

    await user.click(within(section).getByRole("button", { name: ADMIN_BUTTON }));
    dialog = await screen.findByRole("dialog", { name: "Download the admin kubeconfig?" });
    await user.click(within(dialog).getByRole("button", { name: "Download admin kubeconfig" }));

    await vi.waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0].name).toBe("dev.admin.kubeconfig.yaml");
    expect(await saved[0].text).toContain("client-key-data");
    expect(gateway.adminKubeconfigReads).toEqual([cluster.id]);
  });

  it("offers the break-glass download to no one below admin", async () => {
    const { gateway, me, cluster } = readyCluster("member");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    const section = await kubectlSection();
    expect(within(section).getByRole("button", { name: "Download kubeconfig" })).toBeInTheDocument();
    expect(within(section).queryByRole("button", { name: ADMIN_BUTTON })).not.toBeInTheDocument();
  });

  it("shows nothing for kubectl until the cluster is ready", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "provisioning");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await screen.findByRole("heading", { name: "dev" });
    expect(screen.queryByRole("region", { name: "Use with kubectl" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Download kubeconfig" })).not.toBeInTheDocument();
  });
});
