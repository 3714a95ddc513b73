import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { delay, http, HttpResponse } from "msw";
import { renderApp, signedInStore, installGateway } from "./render";
import { server } from "./server";

describe("honest page states", () => {
  it("shows the product name on the login and sign-up pages", async () => {
    installGateway();
    renderApp("/login");
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeInTheDocument();
    expect(screen.getByTestId("product-name")).toHaveTextContent("PyK8s-Lab");
  });

  it("shows the Terminal tab before the cluster is ready, disabled with when it comes", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "provisioning");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    const tab = await screen.findByRole("tab", { name: "Terminal" });
    expect(tab).toBeDisabled();
    expect(tab).toHaveAccessibleDescription("The terminal is available when the cluster is ready.");
    expect(screen.getByText("The terminal is available when the cluster is ready.")).toBeVisible();
  });

  it.each([
    ["cluster", "/clusters/00000000-0000-4000-8000-000000000000", "Cluster not found", "Back to clusters", "/"],
    ["team", "/teams/00000000-0000-4000-8000-000000000000", "Team not found", "Back to teams", "/teams"],
  ])("says an unknown %s is not found, with the way back and no Retry", async (_what, path, title, back, to) => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    renderApp(path, signedInStore(gateway, me));

    expect(await screen.findByRole("heading", { name: title })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: back })).toHaveAttribute("href", to);
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
  });

  it("still offers Retry when loading failed for another reason", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "ready");
    server.use(
      http.get(`http://localhost:3000/api/v1/clusters/${cluster.id}`, () =>
        HttpResponse.json(
          { status: 503, code: "service_unavailable", detail: "the provisioner is not answering" },
          { status: 503, headers: { "Content-Type": "application/problem+json" } },
        ),
      ),
    );
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    expect(await screen.findByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("goes back to the list after a delete without a spinner: the list is already there", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("solo", me, null, "ready");
    gateway.addCluster("other", me, null, "ready");
    // The list takes a moment to answer, as over a real network (then the double answers).
    server.use(http.get("http://localhost:3000/api/v1/clusters", () => delay(300)));
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("button", { name: "Delete" }));
    await user.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Delete cluster" }));

    expect(await screen.findByRole("heading", { name: "Clusters" })).toBeInTheDocument();
    // At the first sight of the dashboard the rows are there, never a loader in their place.
    expect(screen.queryByLabelText("Loading")).not.toBeInTheDocument();
    expect(screen.getByTestId("cluster-row-other")).toBeInTheDocument();
    expect(within(screen.getByTestId("cluster-row-solo")).getByText("deleting")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByLabelText("Loading")).not.toBeInTheDocument());
  });
});
