import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

function setup() {
  const gateway = installGateway();
  const me = gateway.addUser("mia");
  const other = gateway.addUser("olga");
  const teams = {
    owned: gateway.addTeam("owned", [[me, "owner"]]),
    admin: gateway.addTeam("admined", [[other, "owner"], [me, "admin"]]),
    member: gateway.addTeam("membered", [[other, "owner"], [me, "member"]]),
    viewer: gateway.addTeam("viewed", [[other, "owner"], [me, "viewer"]]),
  };
  return { gateway, me, teams };
}

async function openDialog(user: ReturnType<typeof renderApp>["user"]) {
  await user.click(await screen.findByRole("button", { name: "New cluster" }));
  return screen.findByRole("form", { name: "Create cluster" });
}

describe("create-cluster dialog", () => {
  it("offers the teams where I am member or above, newest first, and shows the others disabled with the reason", async () => {
    const { gateway, me } = setup();
    const { user } = renderApp("/", signedInStore(gateway, me));
    await screen.findByText("No clusters yet");
    const form = await openDialog(user);

    const select = within(form).getByRole("combobox", { name: "Team" });
    expect(select).toHaveAccessibleDescription("Viewers cannot create clusters — ask an admin of team viewed.");
    await user.click(select);
    const options = await screen.findAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual([
      "Personal (only me)",
      "viewed (viewer: cannot create clusters)",
      "membered",
      "admined",
      "owned",
    ]);
    expect(options.map((o) => o.getAttribute("aria-disabled") === "true" || o.hasAttribute("data-combobox-disabled"))).toEqual([
      false,
      true,
      false,
      false,
      false,
    ]);
    await user.click(screen.getByRole("option", { name: "viewed (viewer: cannot create clusters)" }));
    expect(select).toHaveValue("Personal (only me)");
  });

  it("validates the name as I type", async () => {
    const { gateway, me } = setup();
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);
    const name = within(form).getByLabelText("Name");

    await user.type(name, "Dev");
    expect(within(form).getByText("Use lowercase letters only")).toBeInTheDocument();
    await user.clear(name);
    await user.type(name, "dev-");
    expect(within(form).getByText("Must start and end with a letter or digit")).toBeInTheDocument();
    await user.type(name, "1");
    expect(within(form).queryByText(/must start/i)).not.toBeInTheDocument();
    await user.type(name, "_x");
    expect(within(form).getByText("Only lowercase letters, digits and '-'")).toBeInTheDocument();
  });

  it("keeps workers between 0 and 5", async () => {
    const { gateway, me } = setup();
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);
    const workers = within(form).getByLabelText("Workers");
    await user.clear(workers);
    await user.type(workers, "9");
    await user.type(within(form).getByLabelText("Name"), "dev");
    expect(workers).toHaveValue("5");
    await user.click(within(form).getByRole("button", { name: "Create" }));
    await screen.findByRole("heading", { name: "dev" });
    expect(gateway.requests.find((r) => r.method === "POST" && r.path === "/api/v1/clusters")?.body).toMatchObject({
      workers: 5,
    });
  });

  it("creates a team cluster and opens its page", async () => {
    const { gateway, me, teams } = setup();
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);

    await user.type(within(form).getByLabelText("Name"), "dev");
    await user.click(within(form).getByRole("radio", { name: "k3d" }));
    await user.click(within(form).getByRole("combobox", { name: "Team" }));
    await user.click(await screen.findByRole("option", { name: "membered" }));
    await user.click(within(form).getByRole("button", { name: "Create" }));

    expect(await screen.findByRole("heading", { name: "dev" })).toBeInTheDocument();
    expect(gateway.requests.find((r) => r.method === "POST" && r.path === "/api/v1/clusters")?.body).toEqual({
      name: "dev",
      provider: "k3d",
      team_id: teams.member.id,
      kubernetes_version: "v1.31.5",
      workers: 0,
      ttl_hours: 4,
    });
  });
});

describe("provider choice", () => {
  it("is a labelled radio group that offers kwok, with what kwok means", async () => {
    const { gateway, me } = setup();
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);

    const providers = within(form).getByRole("radiogroup", { name: "Provider" });
    const choices = within(providers).getAllByRole("radio");
    expect(choices.map((choice) => choice.getAttribute("value"))).toEqual(["kind", "k3d", "kwok"]);
    expect(within(form).queryByText(/simulated nodes/i)).not.toBeInTheDocument();

    await user.click(within(providers).getByRole("radio", { name: "kwok" }));
    expect(within(form).getByText(/simulated nodes/i)).toBeInTheDocument();
    await user.type(within(form).getByLabelText("Name"), "sim");
    await user.click(within(form).getByRole("button", { name: "Create" }));

    expect(await screen.findByRole("heading", { name: "sim" })).toBeInTheDocument();
    expect(gateway.requests.find((r) => r.method === "POST" && r.path === "/api/v1/clusters")?.body).toMatchObject({
      provider: "kwok",
    });
  });
});

describe("providers and versions", () => {
  it("offers the versions the provider has, its default preselected", async () => {
    const { gateway, me } = setup();
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);

    const version = within(form).getByRole("combobox", { name: "Kubernetes version" });
    await waitFor(() => expect(version).toHaveValue("v1.34.0 (default)"));
    await user.click(version);
    const options = await screen.findAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual(["v1.34.0 (default)", "v1.33.1"]);
    await user.click(screen.getByRole("option", { name: "v1.33.1" }));
    await user.click(within(form).getByRole("radio", { name: "k3d" }));
    expect(version).toHaveValue("v1.31.5 (default)");
    await user.click(within(form).getByRole("radio", { name: "kind" }));
    await user.click(version);
    await user.click(await screen.findByRole("option", { name: "v1.33.1" }));
    await user.type(within(form).getByLabelText("Name"), "old");
    await user.click(within(form).getByRole("button", { name: "Create" }));

    expect(await screen.findByRole("heading", { name: "old" })).toBeInTheDocument();
    expect(gateway.requests.find((r) => r.method === "POST" && r.path === "/api/v1/clusters")?.body).toMatchObject({
      provider: "kind",
      kubernetes_version: "v1.33.1",
    });
  });

  it("disables an unavailable provider and says why", async () => {
    const { gateway, me } = setup();
    gateway.providers[0] = { provider: "kind", available: false, reason: "kind: command not found (PROVISIONER_KIND_BIN=kind)", versions: [] };
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);

    const kind = within(form).getByRole("radio", { name: "kind" });
    await waitFor(() => expect(kind).toBeDisabled());
    expect(kind).toHaveAccessibleDescription("Not available: kind: command not found (PROVISIONER_KIND_BIN=kind)");
    // The first available provider is chosen instead, with its default version.
    expect(within(form).getByRole("radio", { name: "k3d" })).toBeChecked();
    expect(within(form).getByRole("combobox", { name: "Kubernetes version" })).toHaveValue("v1.31.5 (default)");
    expect(within(form).getByRole("radio", { name: "k3d" })).toHaveAccessibleDescription("k3d v5.8.3");
  });

  it("cannot create when no provider is available", async () => {
    const { gateway, me } = setup();
    gateway.providers = gateway.providers.map((p) => ({ ...p, available: false, reason: "missing", versions: [] }));
    const { user } = renderApp("/", signedInStore(gateway, me));
    const form = await openDialog(user);

    expect(await within(form).findByText("No provider is available on this server")).toBeInTheDocument();
    expect(within(form).getByRole("button", { name: "Create" })).toBeDisabled();
  });
});
