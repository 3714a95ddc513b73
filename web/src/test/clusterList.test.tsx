import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { PAGE_SIZE } from "../api/pages";
import { installGateway, renderApp, signedInStore } from "./render";

function world() {
  const gateway = installGateway();
  const me = gateway.addUser("mia");
  const bob = gateway.addUser("bob");
  const platform = gateway.addTeam("platform", [
    [me, "owner"],
    [bob, "member"],
  ]);
  const data = gateway.addTeam("data", [[me, "viewer"]]);
  return { gateway, me, bob, platform, data };
}

function rowNames(): string[] {
  const table = screen.getByRole("table", { name: "Clusters" });
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((row) => row.getAttribute("data-testid")?.replace("cluster-row-", "") ?? "");
}

describe("cluster list", () => {
  it("shows who created each cluster", async () => {
    const { gateway, me, bob, platform } = world();
    gateway.addCluster("mine", me, null, "ready");
    gateway.addCluster("bobs", bob, platform, "ready");
    renderApp("/", signedInStore(gateway, me));

    const mine = await screen.findByTestId("cluster-row-mine");
    expect(screen.getByRole("columnheader", { name: "Created by" })).toBeInTheDocument();
    expect(within(mine).getByText("you")).toBeInTheDocument();
    // The dashboard knows no other names: another creator shows as the start of their id.
    const bobs = screen.getByTestId("cluster-row-bobs");
    expect(within(bobs).getByTitle(bob.id)).toHaveTextContent(bob.id.slice(0, 8));
  });

  it("filters by team, status and provider", async () => {
    const { gateway, me, platform, data } = world();
    gateway.addCluster("personal", me, null, "ready");
    gateway.addCluster("web", me, platform, "ready");
    gateway.addCluster("broken", me, platform, "failed");
    gateway.addCluster("etl", me, data, "ready").provider = "k3d";
    const { user } = renderApp("/", signedInStore(gateway, me));
    await screen.findByTestId("cluster-row-personal");
    expect(rowNames().sort()).toEqual(["broken", "etl", "personal", "web"]);

    await user.click(screen.getByRole("combobox", { name: "Filter by team" }));
    await user.click(await screen.findByRole("option", { name: "platform" }));
    await expect.poll(() => rowNames().sort()).toEqual(["broken", "web"]);

    await user.click(screen.getByRole("combobox", { name: "Filter by status" }));
    await user.click(await screen.findByRole("option", { name: "failed" }));
    await expect.poll(rowNames).toEqual(["broken"]);

    await user.click(screen.getByRole("combobox", { name: "Filter by provider" }));
    await user.click(await screen.findByRole("option", { name: "k3d" }));
    expect(await screen.findByText("No clusters match these filters.")).toBeInTheDocument();
  });

  it("loads more pages through next_cursor", async () => {
    const { gateway, me } = world();
    for (let n = 0; n < PAGE_SIZE + 5; n++) gateway.addCluster(`c${String(n).padStart(3, "0")}`, me, null, "ready");
    const { user } = renderApp("/", signedInStore(gateway, me));
    // Newest first: the last one added leads the first page.
    await screen.findByTestId(`cluster-row-c0${PAGE_SIZE + 4}`);
    expect(rowNames()).toHaveLength(PAGE_SIZE);
    expect(screen.queryByTestId("cluster-row-c000")).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Load more clusters" }));
    await expect.poll(() => rowNames().length).toBe(PAGE_SIZE + 5);
    expect(new Set(rowNames()).size).toBe(PAGE_SIZE + 5);
    expect(screen.queryByRole("button", { name: "Load more clusters" })).not.toBeInTheDocument();
  });
});

describe("team page clusters", () => {
  it("shows the team's clusters only, with their creators' names", async () => {
    const { gateway, me, bob, platform, data } = world();
    gateway.addCluster("web", bob, platform, "ready");
    gateway.addCluster("api", me, platform, "pending");
    gateway.addCluster("etl", me, data, "ready");
    gateway.addCluster("personal", me, null, "ready");
    renderApp(`/teams/${platform.id}`, signedInStore(gateway, me));

    const web = await screen.findByTestId("cluster-row-web");
    expect(rowNames().sort()).toEqual(["api", "web"]);
    expect(within(web).getByText("bob")).toBeInTheDocument();
    expect(within(screen.getByTestId("cluster-row-api")).getByText("you")).toBeInTheDocument();
  });

  it("says so when the team has none", async () => {
    const { gateway, me, data } = world();
    renderApp(`/teams/${data.id}`, signedInStore(gateway, me));
    expect(await screen.findByText("This team has no clusters.")).toBeInTheDocument();
  });
});
