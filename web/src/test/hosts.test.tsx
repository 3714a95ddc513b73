import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

function pool() {
  const gateway = installGateway();
  const admin = gateway.addUser("ada");
  gateway.platformAdmins.add(admin.id);
  const member = gateway.addUser("mia");
  const a = gateway.addHost("host-a", { clusters: 3, memory_used_bytes: 2100 * 1024 * 1024 });
  if (a.announcement) a.announcement.address = "engine-a.example";
  gateway.addHost("host-b", { reachable: false, drained: true, clusters: 1, announcement: null });
  return { gateway, admin, member };
}

const row = (id: string) => screen.getByTestId(`host-${id}`);

describe("the hosts page", () => {
  it("lists each host's status, load and providers for platform admins", async () => {
    const { gateway, admin } = pool();
    renderApp("/hosts", signedInStore(gateway, admin));

    await screen.findByRole("heading", { name: "Docker hosts" });
    expect(screen.getByRole("link", { name: "Hosts" })).toBeInTheDocument();
    await screen.findByTestId("host-host-a");
    const a = within(row("host-a"));
    expect(a.getByText("Reachable")).toBeInTheDocument();
    expect(a.queryByText("Drained")).not.toBeInTheDocument();
    expect(a.getByText("3 of 20")).toBeInTheDocument();
    expect(a.getByText("2,100 MiB of 16,384 MiB")).toBeInTheDocument();
    // Only the providers whose CLI the host has, with their versions when limited.
    expect(a.getByText("kind, kwok (v1.34.4)")).toBeInTheDocument();
    expect(a.getByText("tcp://host-a.example:2376 · API servers at engine-a.example")).toBeInTheDocument();
    const b = within(row("host-b"));
    expect(b.getByText("Unreachable")).toBeInTheDocument();
    expect(b.getByText("Drained")).toBeInTheDocument();
    expect(b.getByRole("button", { name: "Undrain" })).toBeInTheDocument();
  });

  it("drains and undrains a host only once confirmed", async () => {
    const { gateway, admin } = pool();
    const { user } = renderApp("/hosts", signedInStore(gateway, admin));
    await screen.findByTestId("host-host-a");

    await user.click(within(row("host-a")).getByRole("button", { name: "Drain" }));
    const dialog = await screen.findByRole("dialog", { name: "Drain host" });
    expect(dialog).toHaveTextContent("Its 3 clusters keep running");
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const hostChanges = () => gateway.requests.filter((r) => r.method === "POST" && r.path.startsWith("/api/v1/hosts")).map((r) => r.path);
    expect(hostChanges()).toEqual([]);

    await user.click(within(row("host-a")).getByRole("button", { name: "Drain" }));
    await user.click(within(await screen.findByRole("dialog", { name: "Drain host" })).getByRole("button", { name: "Drain" }));
    await waitFor(() => expect(within(row("host-a")).getByText("Drained")).toBeInTheDocument());
    expect(gateway.hosts.get("host-a")?.drained).toBe(true);

    await user.click(within(row("host-a")).getByRole("button", { name: "Undrain" }));
    await user.click(within(await screen.findByRole("dialog", { name: "Undrain host" })).getByRole("button", { name: "Undrain" }));
    await waitFor(() => expect(within(row("host-a")).queryByText("Drained")).not.toBeInTheDocument());
    expect(hostChanges()).toEqual([
      "/api/v1/hosts/host-a/drain",
      "/api/v1/hosts/host-a/undrain",
    ]);
  });

  it("is hidden from everyone else, who never ask for the list", async () => {
    const { gateway, member } = pool();
    renderApp("/hosts", signedInStore(gateway, member));

    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Hosts" })).not.toBeInTheDocument();
    expect(gateway.requests.some((r) => r.path.startsWith("/api/v1/hosts"))).toBe(false);
  });
});
