import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

describe("teams page", () => {
  it("lists my teams with my role in each", async () => {
    const gateway = installGateway();
    const ana = gateway.addUser("ana");
    const bob = gateway.addUser("bob");
    gateway.addTeam("platform", [[ana, "owner"]]);
    gateway.addTeam("data", [[bob, "owner"], [ana, "viewer"]]);
    gateway.addTeam("secret", [[bob, "owner"]]);

    renderApp("/teams", signedInStore(gateway, ana));

    const table = await screen.findByRole("table", { name: "My teams" });
    const rows = within(table).getAllByRole("row").slice(1);
    // Each cell carries its column's name too, shown when a narrow screen stacks the row.
    // Newest first, as the gateway pages them.
    expect(rows.map((r) => r.textContent)).toEqual(["TeamdataMy roleviewer", "TeamplatformMy roleowner"]);
    expect(within(table).queryByText("secret")).not.toBeInTheDocument();
  });

  it("says what to do when I have no team", async () => {
    const gateway = installGateway();
    const ana = gateway.addUser("ana");
    renderApp("/teams", signedInStore(gateway, ana));
    expect(await screen.findByText(/not in any team yet/i)).toBeInTheDocument();
  });

  it("creates a team and opens it with me as owner", async () => {
    const gateway = installGateway();
    const ana = gateway.addUser("ana");
    const { user } = renderApp("/teams", signedInStore(gateway, ana));

    await user.type(await screen.findByLabelText("Team name"), "Infra");
    expect(screen.getByText("Use lowercase letters only")).toBeInTheDocument();
    await user.clear(screen.getByLabelText("Team name"));
    await user.type(screen.getByLabelText("Team name"), "infra");
    await user.click(screen.getByRole("button", { name: "Create team" }));

    expect(await screen.findByRole("heading", { name: "infra" })).toBeInTheDocument();
    const members = await screen.findByRole("table", { name: "Members" });
    expect(within(members).getByTestId("member-ana")).toHaveTextContent("owner");
    expect([...gateway.teams.values()].map((t) => t.name)).toEqual(["infra"]);
  });
});
