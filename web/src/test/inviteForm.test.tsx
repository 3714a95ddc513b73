import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

function setup() {
  const gateway = installGateway();
  const admin = gateway.addUser("ada");
  gateway.addUser("ben");
  const team = gateway.addTeam("platform", [[admin, "admin"]]);
  return { gateway, admin, team };
}

describe("invite form", () => {
  it("refuses an empty or malformed login without calling the API", async () => {
    const { gateway, admin, team } = setup();
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, admin));
    const form = await screen.findByRole("form", { name: "Invite member" });

    await user.click(within(form).getByRole("button", { name: "Invite member" }));
    expect(within(form).getByText("Enter a username or an email address")).toBeInTheDocument();

    await user.type(within(form).getByLabelText("Username or email"), "Not Valid");
    await user.click(within(form).getByRole("button", { name: "Invite member" }));
    expect(within(form).getByText("Not a valid username")).toBeInTheDocument();

    await user.clear(within(form).getByLabelText("Username or email"));
    await user.type(within(form).getByLabelText("Username or email"), "someone@nowhere");
    await user.click(within(form).getByRole("button", { name: "Invite member" }));
    expect(within(form).getByText("Not a valid email address")).toBeInTheDocument();

    expect(gateway.requests.filter((r) => r.method === "POST" && r.path.endsWith("/invitations"))).toEqual([]);
  });

  it("offers an admin the roles up to admin, not owner", async () => {
    const { gateway, admin, team } = setup();
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, admin));
    const form = await screen.findByRole("form", { name: "Invite member" });
    await user.click(within(form).getByRole("combobox", { name: "Role" }));
    const options = await screen.findAllByRole("option");
    expect(options.map((o) => o.textContent)).toEqual(["viewer", "member", "admin"]);
  });

  it("sends login and role, then shows the pending invitation", async () => {
    const { gateway, admin, team } = setup();
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, admin));
    const form = await screen.findByRole("form", { name: "Invite member" });

    await user.type(within(form).getByLabelText("Username or email"), "ben");
    await user.click(within(form).getByRole("combobox", { name: "Role" }));
    await user.click(await screen.findByRole("option", { name: "viewer" }));
    await user.click(within(form).getByRole("button", { name: "Invite member" }));

    const pending = await screen.findByRole("table", { name: "Pending invitations" });
    expect(within(pending).getByText("ben")).toBeInTheDocument();
    expect(within(pending).getByText("viewer")).toBeInTheDocument();
    expect(gateway.requests.find((r) => r.method === "POST" && r.path.endsWith("/invitations"))).toEqual({
      method: "POST",
      path: `/api/v1/teams/${team.id}/invitations`,
      query: {},
      body: { login: "ben", role: "viewer" },
    });
    expect(within(form).getByLabelText("Username or email")).toHaveValue("");
  });
  // Refusals the server gives (unknown user, already a member): formErrors.test.tsx.
});

describe("invitation to an email without an account", () => {
  it("shows a one-time sign-up link that lets the invitee join on sign-up", async () => {
    const { gateway, admin, team } = setup();
    const first = renderApp(`/teams/${team.id}`, signedInStore(gateway, admin));
    const form = await screen.findByRole("form", { name: "Invite member" });
    await first.user.type(within(form).getByLabelText("Username or email"), "new@example.com");
    await first.user.click(within(form).getByRole("button", { name: "Invite member" }));

    const link = new URL((await screen.findByTestId("invitation-link")).textContent!);
    expect(link.pathname).toBe("/signup");
    expect(link.searchParams.get("email")).toBe("new@example.com");
    expect(link.searchParams.get("invitation")).toMatch(/^pyk8s_inv_/);
    first.unmount();
    localStorage.clear();

    const second = renderApp(`/signup${link.search}`);
    expect(await screen.findByLabelText("Email")).toHaveValue("new@example.com");
    await second.user.type(screen.getByLabelText("Username"), "newbie");
    await second.user.type(screen.getByLabelText("Password"), "correct horse battery");
    await second.user.click(screen.getByRole("button", { name: "Sign up" }));

    expect(await screen.findByRole("heading", { name: "Clusters" })).toBeInTheDocument();
    const newbie = [...gateway.users.values()].find((u) => u.username === "newbie")!;
    expect(team.members.get(newbie.id)?.role).toBe("member");
  });
});
