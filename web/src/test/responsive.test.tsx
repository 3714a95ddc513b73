import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

/** The name each cell gives its value when a narrow screen shows the row as a card. */
function labels(row: HTMLElement): string[] {
  return within(row)
    .getAllByRole("cell")
    .map((cell) => cell.getAttribute("data-label") ?? "");
}

describe("lists on a narrow screen", () => {
  it("labels every value of a cluster row, so a card shows them all", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const team = gateway.addTeam("platform", [[me, "owner"]]);
    gateway.addCluster("dev", me, team, "ready");
    renderApp("/", signedInStore(gateway, me));

    const row = await screen.findByTestId("cluster-row-dev");
    expect(labels(row)).toEqual(["Name", "Status", "Provider", "Team", "Created by", "Age", "Time left"]);
    const teamCell = within(row).getAllByRole("cell")[3];
    expect(teamCell).toHaveTextContent(/^Team\s*platform$/);
    const header = within(screen.getByRole("table", { name: "Clusters" })).getAllByRole("columnheader");
    expect(header.map((h) => h.textContent)).toEqual(labels(row));
  });

  it("labels the team, member and invitation lists the same way", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const ben = gateway.addUser("ben");
    const team = gateway.addTeam("platform", [[me, "owner"]]);
    gateway.addInvitation(team, ben, "member", me);
    const { user } = renderApp("/teams", signedInStore(gateway, me));

    const teams = await screen.findByRole("table", { name: "My teams" });
    expect(labels(within(teams).getAllByRole("row")[1])).toEqual(["Team", "My role"]);
    await user.click(within(teams).getByRole("link", { name: "platform" }));
    const members = await screen.findByRole("table", { name: "Members" });
    expect(labels(within(members).getByTestId("member-mia"))).toEqual(["Member", "Role", ""]);
    const pending = await screen.findByRole("table", { name: "Pending invitations" });
    expect(labels(within(pending).getAllByRole("row")[1])).toEqual(["Invited", "Role", "Expires in", ""]);
  });

  it("keeps the signed-in user in the header at every width", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    renderApp("/", signedInStore(gateway, me));
    const account = await screen.findByTestId("current-user");
    expect(account).toHaveTextContent("mia");
    // Mantine hides `visibleFrom` elements below their breakpoint; the user is not one of them.
    expect(account.className).not.toMatch(/mantine-visible-from/);
  });
});
