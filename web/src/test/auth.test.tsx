import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { makeStore } from "../store";
import { renderApp, signedInStore, installGateway } from "./render";

describe("sign in", () => {
  it("says clearly when the credentials are wrong", async () => {
    const gateway = installGateway();
    gateway.addUser("mia", "correct horse battery");
    const { user } = renderApp("/login");

    await user.type(await screen.findByLabelText("Username or email"), "mia");
    await user.type(screen.getByLabelText("Password"), "wrong password");
    await user.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong username, email or password.");
  });

  it("signs up, logs in and lands on the dashboard", async () => {
    const gateway = installGateway();
    const { user } = renderApp("/signup");

    await user.type(await screen.findByLabelText("Username"), "mia");
    await user.type(screen.getByLabelText("Email"), "mia@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign up" }));

    expect(await screen.findByRole("heading", { name: "Clusters" })).toBeInTheDocument();
    expect(await screen.findByText("No clusters yet")).toBeInTheDocument();
    expect(await screen.findByTestId("current-user")).toHaveTextContent("mia");
    expect([...gateway.users.values()].map((u) => u.username)).toEqual(["mia"]);
  });

  it("shows the password rules before the first failure, from the server's rules", async () => {
    installGateway();
    const { user } = renderApp("/signup");

    const password = await screen.findByLabelText("Password");
    expect(password).toHaveAccessibleDescription("8 to 128 characters");
    await user.type(password, "short");
    expect(screen.getByText("At least 8 characters")).toBeInTheDocument();
    await user.type(password, "-but-long-now");
    expect(screen.queryByText("At least 8 characters")).not.toBeInTheDocument();
  });

  it("signs up with an address on an internal domain", async () => {
    const gateway = installGateway();
    const { user } = renderApp("/signup");

    await user.type(await screen.findByLabelText("Username"), "lab");
    await user.type(screen.getByLabelText("Email"), "someone@lab.local");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign up" }));

    expect(await screen.findByTestId("current-user")).toHaveTextContent("lab");
    expect([...gateway.users.values()].map((u) => u.email)).toEqual(["someone@lab.local"]);
  });

  it("keeps the session across a reload", async () => {
    const gateway = installGateway();
    const mia = gateway.addUser("mia");
    signedInStore(gateway, mia); // stores the session as a login would
    // A new store is what a reload builds: it must read the saved session.
    renderApp("/teams", makeStore());
    expect(await screen.findByRole("heading", { name: "Teams" })).toBeInTheDocument();
    expect(await screen.findByTestId("current-user")).toHaveTextContent("mia");
  });

  it("refreshes an expired access token silently and retries", async () => {
    const gateway = installGateway();
    const mia = gateway.addUser("mia");
    gateway.addTeam("platform", [[mia, "owner"]]);
    const store = signedInStore(gateway, mia);
    const before = store.getState().auth.session!.accessToken;
    gateway.expireAccessTokens();

    renderApp("/teams", store);

    expect(await screen.findByText("platform")).toBeInTheDocument();
    expect(gateway.requests.filter((r) => r.path === "/api/v1/auth/refresh")).toHaveLength(1);
    await waitFor(() => expect(store.getState().auth.session!.accessToken).not.toBe(before));
    expect(JSON.parse(localStorage.getItem("pyk8s.session")!).accessToken).toBe(store.getState().auth.session!.accessToken);
  });

  it("sends me to the login page when the refresh token is no longer valid", async () => {
    const gateway = installGateway();
    const mia = gateway.addUser("mia");
    const store = makeStore();
    store.dispatch({ type: "auth/signedIn", payload: { accessToken: "stale", refreshToken: "revoked" } });
    renderApp("/teams", store);
    expect(await screen.findByRole("button", { name: "Log in" })).toBeInTheDocument();
    expect(store.getState().auth.session).toBeNull();
    expect(mia.username).toBe("mia");
  });
});

describe("invitations for me", () => {
  it("shows them after login and joins the team on accept", async () => {
    const gateway = installGateway();
    const owner = gateway.addUser("olga");
    const mia = gateway.addUser("mia");
    const team = gateway.addTeam("platform", [[owner, "owner"]]);
    gateway.addInvitation(team, mia, "member", owner);
    const { user } = renderApp("/teams", signedInStore(gateway, mia));

    const banner = await screen.findByRole("alert", { name: "Invitations for you" });
    expect(banner).toHaveTextContent("Join platform as");
    await user.click(screen.getByRole("button", { name: "Accept" }));

    await waitFor(() => expect(screen.queryByRole("alert", { name: "Invitations for you" })).not.toBeInTheDocument());
    expect(await screen.findByRole("link", { name: "platform" })).toBeInTheDocument();
    expect(team.members.get(mia.id)?.role).toBe("member");
  });

  it("removes a declined invitation without joining", async () => {
    const gateway = installGateway();
    const owner = gateway.addUser("olga");
    const mia = gateway.addUser("mia");
    const team = gateway.addTeam("platform", [[owner, "owner"]]);
    gateway.addInvitation(team, mia, "viewer", owner);
    const { user } = renderApp("/", signedInStore(gateway, mia));

    await user.click(await screen.findByRole("button", { name: "Decline" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Decline" })).not.toBeInTheDocument());
    expect(team.members.has(mia.id)).toBe(false);
  });
});
