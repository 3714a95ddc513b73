import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { MAX_PAGE_SIZE, PAGE_SIZE } from "../api/pages";
import { renderApp, signedInStore, installGateway } from "./render";

const named = (prefix: string, n: number) => `${prefix}${String(n).padStart(3, "0")}`;

function rows(table: HTMLElement) {
  return within(table).getAllByRole("row").slice(1);
}

function reads(gateway: ReturnType<typeof installGateway>, path: string) {
  return gateway.requests.filter((r) => r.method === "GET" && r.path === path);
}

describe("teams page paging", () => {
  it("shows the first page of my teams, then the rest with Load more, and keeps them on refresh", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const olga = gateway.addUser("olga");
    const teams = Array.from({ length: PAGE_SIZE + 10 }, (_, n) => gateway.addTeam(named("t", n), [[olga, "owner"], [me, "member"]]));
    const { user } = renderApp("/teams", signedInStore(gateway, me));

    const table = await screen.findByRole("table", { name: "My teams" });
    // Newest first: the last one added leads the first page, the first one is on the second.
    expect(rows(table)).toHaveLength(PAGE_SIZE);
    expect(within(table).getByRole("link", { name: named("t", PAGE_SIZE + 9) })).toBeInTheDocument();
    expect(within(table).queryByRole("link", { name: "t000" })).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Load more teams" }));
    await waitFor(() => expect(rows(table)).toHaveLength(PAGE_SIZE + 10));
    expect(within(table).getByRole("link", { name: "t000" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more teams" })).not.toBeInTheDocument();

    // Removed from a team on the second page, live: the refresh refetches every loaded page.
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    teams[0].members.delete(me.id);
    gateway.publishPersonal(me, "member.removed", teams[0], { role: "member", by: olga.id });
    await waitFor(() => expect(within(table).queryByRole("link", { name: "t000" })).not.toBeInTheDocument());
    expect(rows(table)).toHaveLength(PAGE_SIZE + 9);
  });
});

describe("every team where a choice needs them all", () => {
  function manyTeams() {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    // The oldest teams come last, beyond the first page of the largest size.
    for (let n = 0; n < MAX_PAGE_SIZE + 5; n++) gateway.addTeam(named("t", n), [[me, "owner"]]);
    return { gateway, me };
  }

  it("offers a team beyond the first 200 in the create dialog, read 200 at a time", async () => {
    const { gateway, me } = manyTeams();
    const { user } = renderApp("/", signedInStore(gateway, me));
    await user.click(await screen.findByRole("button", { name: "New cluster" }));
    const form = await screen.findByRole("form", { name: "Create cluster" });

    await user.click(within(form).getByRole("combobox", { name: "Team" }));
    const options = await screen.findAllByRole("option");
    expect(options).toHaveLength(1 + MAX_PAGE_SIZE + 5);
    await user.click(screen.getByRole("option", { name: "t000" }));
    expect(within(form).getByRole("combobox", { name: "Team" })).toHaveValue("t000");

    // One list read in pages of the largest size, the second after the first's next_cursor.
    const teamReads = reads(gateway, "/api/v1/teams");
    expect(teamReads.map((r) => r.query)).toEqual([
      { limit: String(MAX_PAGE_SIZE) },
      { limit: String(MAX_PAGE_SIZE), cursor: String(MAX_PAGE_SIZE) },
    ]);
  });

  it("filters the cluster list by a team beyond the first 200", async () => {
    const { gateway, me } = manyTeams();
    const { user } = renderApp("/", signedInStore(gateway, me));

    await user.click(await screen.findByRole("combobox", { name: "Filter by team" }));
    expect(await screen.findAllByRole("option")).toHaveLength(MAX_PAGE_SIZE + 5);
    await user.click(screen.getByRole("option", { name: "t000" }));
    const oldest = [...gateway.teams.values()].find((t) => t.name === "t000")!;
    await waitFor(() => expect(reads(gateway, "/api/v1/clusters").map((r) => r.query.team_id)).toContain(oldest.id));
  });
});

describe("team page paging", () => {
  function bigTeam() {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const people = Array.from({ length: PAGE_SIZE + 5 }, (_, n) => gateway.addUser(named("u", n)));
    const team = gateway.addTeam("platform", [[me, "owner"], ...people.map((p) => [p, "member"] as [typeof p, "member"])]);
    return { gateway, me, people, team };
  }

  it("loads more members, and a removal refreshes every loaded page", async () => {
    const { gateway, me, people, team } = bigTeam();
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    const table = await screen.findByRole("table", { name: "Members" });
    expect(rows(table)).toHaveLength(PAGE_SIZE);
    // I joined first, so I am on the second page; my role comes from the team meanwhile.
    expect(within(table).queryByTestId("member-mia")).not.toBeInTheDocument();
    expect(within(screen.getByTestId("my-role")).getByText("owner")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Load more members" }));
    await waitFor(() => expect(rows(table)).toHaveLength(PAGE_SIZE + 6));
    expect(within(table).getByTestId("member-mia")).toHaveTextContent("(you)");
    expect(screen.queryByRole("button", { name: "Load more members" })).not.toBeInTheDocument();

    await user.click(within(table).getByRole("button", { name: "Remove u000" }));
    await user.click(await screen.findByRole("button", { name: "Remove" }));
    await waitFor(() => expect(within(table).queryByTestId("member-u000")).not.toBeInTheDocument());
    expect(team.members.has(people[0].id)).toBe(false);
    expect(rows(table)).toHaveLength(PAGE_SIZE + 5);
  });

  it("loads more pending invitations", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const team = gateway.addTeam("platform", [[me, "owner"]]);
    for (let n = 0; n < PAGE_SIZE + 3; n++) gateway.addInvitation(team, gateway.addUser(named("i", n)), "member", me);
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, me));

    const table = await screen.findByRole("table", { name: "Pending invitations" });
    expect(rows(table)).toHaveLength(PAGE_SIZE);
    expect(within(table).queryByText("i000")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Load more invitations" }));
    await waitFor(() => expect(rows(table)).toHaveLength(PAGE_SIZE + 3));
    expect(within(table).getByText("i000")).toBeInTheDocument();
  });
});

describe("my invitations", () => {
  it("shows every pending invitation, beyond the first 200", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const olga = gateway.addUser("olga");
    const invitations = Array.from({ length: MAX_PAGE_SIZE + 2 }, (_, n) =>
      gateway.addInvitation(gateway.addTeam(named("t", n), [[olga, "owner"]]), me, "member", olga),
    );
    renderApp("/teams", signedInStore(gateway, me));

    const alert = await screen.findByRole("alert", { name: "Invitations for you" });
    await waitFor(() => expect(within(alert).getByTestId(`invitation-${invitations[0].id}`)).toHaveTextContent("t000"));
    expect(within(alert).getAllByRole("button", { name: /accept/i })).toHaveLength(MAX_PAGE_SIZE + 2);
  });
});
