import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

function setup(myRole: "owner" | "admin" | "member" | "viewer") {
  const gateway = installGateway();
  const owner = gateway.addUser("olga");
  const me = gateway.addUser("mia");
  const other = gateway.addUser("ned");
  const members: [typeof owner, "owner" | "admin" | "member" | "viewer"][] = [[other, "member"]];
  if (myRole === "owner") members.unshift([me, "owner"]);
  else members.unshift([owner, "owner"], [me, myRole]);
  const team = gateway.addTeam("platform", members);
  return { gateway, team, me, other, owner };
}

describe("member list", () => {
  it("shows every member with their role", async () => {
    const { gateway, team, me } = setup("admin");
    renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    const table = await screen.findByRole("table", { name: "Members" });
    expect(within(table).getByTestId("member-olga")).toHaveTextContent("owner");
    expect(within(table).getByTestId("member-mia")).toHaveTextContent("(you)");
    expect(within(table).getByRole("combobox", { name: "Role of ned" })).toHaveValue("member");
  });

  it("lets an admin change a role and remove a member, but not touch the owner", async () => {
    const { gateway, team, me, other } = setup("admin");
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    const table = await screen.findByRole("table", { name: "Members" });
    expect(within(table).queryByRole("combobox", { name: "Role of olga" })).not.toBeInTheDocument();
    expect(within(table).queryByRole("button", { name: "Remove olga" })).not.toBeInTheDocument();

    await user.click(within(table).getByRole("combobox", { name: "Role of ned" }));
    await user.click(await screen.findByRole("option", { name: "viewer" }));
    await waitFor(() => expect(team.members.get(other.id)?.role).toBe("viewer"));

    await user.click(within(table).getByRole("button", { name: "Remove ned" }));
    await user.click(await screen.findByRole("button", { name: "Remove" }));
    await waitFor(() => expect(within(table).queryByTestId("member-ned")).not.toBeInTheDocument());
    expect(team.members.has(other.id)).toBe(false);
  });

  it("shows a member only badges, no controls", async () => {
    const { gateway, team, me } = setup("member");
    renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    const table = await screen.findByRole("table", { name: "Members" });
    expect(within(table).getByTestId("member-ned")).toHaveTextContent("member");
    expect(within(table).queryByRole("combobox")).not.toBeInTheDocument();
    expect(within(table).queryByRole("button", { name: /remove/i })).not.toBeInTheDocument();
  });

  it("lets me leave the team", async () => {
    const { gateway, team, me } = setup("member");
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("button", { name: "Leave team" }));
    await user.click(await screen.findByRole("button", { name: "Leave" }));
    expect(await screen.findByText(/not in any team yet/i)).toBeInTheDocument();
    expect(team.members.has(me.id)).toBe(false);
  });
});
