import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

// Notifications outlive a test: each test has its own team name, so its texts are its own.
function setup(teamName: string) {
  const gateway = installGateway();
  const me = gateway.addUser("mia");
  const olga = gateway.addUser("olga");
  const team = gateway.addTeam(teamName, [[olga, "owner"]]);
  return { gateway, me, olga, team };
}

async function live(gateway: ReturnType<typeof installGateway>) {
  await waitFor(() => expect(gateway.openStreams).toBe(1));
}

describe("events that concern me, live", () => {
  it("shows a new invitation at once, saying who invited me", async () => {
    const { gateway, me, olga, team } = setup("platform");
    renderApp("/", signedInStore(gateway, me));
    await screen.findByText("No clusters yet");
    await live(gateway);
    expect(screen.queryByRole("alert", { name: "Invitations for you" })).not.toBeInTheDocument();

    const invitation = gateway.addInvitation(team, me, "member", olga);
    gateway.publishPersonal(me, "invitation.created", team, {
      invitation_id: invitation.id,
      team_name: "platform",
      role: "member",
      by: olga.id,
    });

    expect(await screen.findByText("You are invited to join platform as member")).toBeInTheDocument();
    const invitations = await screen.findByRole("alert", { name: "Invitations for you" });
    expect(within(invitations).getByText("invited by olga@example.com")).toBeInTheDocument();
    expect(within(invitations).getByRole("button", { name: "Accept" })).toBeEnabled();
  });

  it("takes a revoked invitation away", async () => {
    const { gateway, me, olga, team } = setup("revoking");
    const invitation = gateway.addInvitation(team, me, "viewer", olga);
    renderApp("/", signedInStore(gateway, me));
    const invitations = await screen.findByRole("alert", { name: "Invitations for you" });
    expect(within(invitations).getByText("revoking")).toBeInTheDocument();
    await live(gateway);

    invitation.status = "revoked";
    gateway.publishPersonal(me, "invitation.revoked", team, { invitation_id: invitation.id, team_name: "revoking", by: olga.id });

    expect(await screen.findByText("Your invitation to revoking was revoked")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("alert", { name: "Invitations for you" })).not.toBeInTheDocument());
  });

  it("tells me my new role and my removal, and refreshes my teams", async () => {
    const { gateway, me, olga, team } = setup("changing");
    team.members.set(me.id, { role: "member", joined_at: new Date().toISOString() });
    renderApp("/teams", signedInStore(gateway, me));
    await screen.findByRole("link", { name: "changing" });
    await live(gateway);

    team.members.get(me.id)!.role = "admin";
    gateway.publishPersonal(me, "member.role_changed", team, { old_role: "member", role: "admin", by: olga.id });
    expect(await screen.findByText("You are now admin in changing")).toBeInTheDocument();

    team.members.delete(me.id);
    gateway.publishPersonal(me, "member.removed", team, { role: "admin", by: olga.id });
    expect(await screen.findByText("You were removed from changing")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("link", { name: "changing" })).not.toBeInTheDocument());
  });

  it("shows nothing of events meant for someone else", async () => {
    const { gateway, me, olga, team } = setup("others");
    renderApp("/", signedInStore(gateway, me));
    await screen.findByText("No clusters yet");
    await live(gateway);
    const before = gateway.requests.filter((r) => r.path === "/api/v1/invitations").length;

    gateway.publishPersonal(olga, "invitation.created", team, { team_name: "others", role: "member", by: olga.id });
    gateway.publishPersonal(me, "member.removed", team, { role: "member", by: me.id });

    // My own leaving is not announced to me; it refreshes my teams only.
    const teamReads = gateway.requests.filter((r) => r.path === "/api/v1/teams").length;
    await waitFor(() => expect(gateway.requests.filter((r) => r.path === "/api/v1/teams").length).toBeGreaterThan(teamReads));
    expect(screen.queryByText(/join others/)).not.toBeInTheDocument();
    expect(screen.queryByText(/removed from others/)).not.toBeInTheDocument();
    expect(gateway.requests.filter((r) => r.path === "/api/v1/invitations").length).toBe(before);
  });
});
