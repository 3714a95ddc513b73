import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { FetchBaseQueryError } from "@reduxjs/toolkit/query";
import { problemFields } from "../api/problem";
import { renderApp, signedInStore, installGateway } from "./render";

function refusal(data: object): FetchBaseQueryError {
  return { status: 409, data };
}

describe("problemFields", () => {
  it("reads the field of a refusal and the body fields of a validation error", () => {
    expect(problemFields(refusal({ code: "conflict", detail: "the team name 'x' is already taken", field: "name" }))).toEqual({
      name: "The team name 'x' is already taken",
    });
    expect(
      problemFields({
        status: 422,
        data: {
          code: "validation_error",
          detail: "request validation failed",
          errors: [
            { loc: ["body", "workers"], msg: "Input should be less than or equal to 5" },
            { loc: ["query", "limit"], msg: "not a body field" },
          ],
        },
      }),
    ).toEqual({ workers: "Input should be less than or equal to 5" });
  });

  it("names no field when the problem names none", () => {
    expect(problemFields(refusal({ code: "quota_exceeded", detail: "quota reached: the team may have 2 live clusters" }))).toEqual({});
    expect(problemFields({ status: "FETCH_ERROR", error: "down" })).toEqual({});
  });
});

describe("server refusals in forms", () => {
  it("marks a duplicate team name on the Team name field, not in a notification", async () => {
    const gateway = installGateway();
    const ana = gateway.addUser("ana");
    const bob = gateway.addUser("bob");
    gateway.addTeam("infra", [[bob, "owner"]]);
    const { user } = renderApp("/teams", signedInStore(gateway, ana));

    const form = await screen.findByRole("form", { name: "Create a team" });
    await user.type(within(form).getByLabelText("Team name"), "infra");
    await user.click(within(form).getByRole("button", { name: "Create team" }));

    const name = within(form).getByLabelText("Team name");
    expect(await within(form).findByText("The team name 'infra' is already taken")).toBeInTheDocument();
    expect(name).toHaveAttribute("aria-invalid", "true");
    expect(screen.getAllByText("The team name 'infra' is already taken")).toHaveLength(1);
    // Typing a new name clears the server's complaint.
    await user.type(name, "2");
    expect(within(form).queryByText(/already taken/)).not.toBeInTheDocument();
  });

  it("marks an unknown or already-member invitee on the login field", async () => {
    const gateway = installGateway();
    const ada = gateway.addUser("ada");
    const ben = gateway.addUser("ben");
    const team = gateway.addTeam("platform", [[ada, "admin"], [ben, "member"]]);
    const { user } = renderApp(`/teams/${team.id}`, signedInStore(gateway, ada));
    const form = await screen.findByRole("form", { name: "Invite member" });
    const login = within(form).getByLabelText("Username or email");

    await user.type(login, "nobody");
    await user.click(within(form).getByRole("button", { name: "Invite member" }));
    expect(await within(form).findByText("No account has the username 'nobody'")).toBeInTheDocument();
    expect(login).toHaveAttribute("aria-invalid", "true");

    await user.clear(login);
    await user.type(login, "ben");
    await user.click(within(form).getByRole("button", { name: "Invite member" }));
    expect(await within(form).findByText("Ben is already a member")).toBeInTheDocument();
    expect(screen.getAllByText("Ben is already a member")).toHaveLength(1);
  });

  it("marks a taken username at sign-up on its field, with no alert", async () => {
    const gateway = installGateway();
    gateway.addUser("mia");
    const { user } = renderApp("/signup");

    await user.type(await screen.findByLabelText("Username"), "mia");
    await user.type(screen.getByLabelText("Email"), "other@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign up" }));

    expect(await screen.findByText("Username is already taken")).toBeInTheDocument();
    expect(screen.getByLabelText("Username")).toHaveAttribute("aria-invalid", "true");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("marks a duplicate cluster name on the Name field, not in a notification", async () => {
    const gateway = installGateway();
    const mia = gateway.addUser("mia");
    gateway.addCluster("dev", mia, null, "ready");
    const { user } = renderApp("/", signedInStore(gateway, mia));

    await user.click(await screen.findByRole("button", { name: "New cluster" }));
    const form = await screen.findByRole("form", { name: "Create cluster" });
    await user.type(within(form).getByLabelText("Name"), "dev");
    await user.click(within(form).getByRole("button", { name: "Create" }));

    expect(await within(form).findByText("A cluster named 'dev' already exists here")).toBeInTheDocument();
    expect(within(form).getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getAllByText("A cluster named 'dev' already exists here")).toHaveLength(1);
  });
});
