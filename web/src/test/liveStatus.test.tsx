import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

describe("live cluster status", () => {
  it("updates a row from the event stream without refetching", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const team = gateway.addTeam("platform", [[me, "member"]]);
    const cluster = gateway.addCluster("dev", me, team, "provisioning");
    renderApp("/", signedInStore(gateway, me));

    const row = await screen.findByTestId("cluster-row-dev");
    expect(within(row).getByTestId("cluster-status")).toHaveTextContent("provisioning");
    expect(within(row).getByText("platform")).toBeInTheDocument();
    expect(within(row).getByText("kind")).toBeInTheDocument();
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    await screen.findByText("live");
    const listCalls = () => gateway.requests.filter((r) => r.path === "/api/v1/clusters").length;
    const before = listCalls();

    gateway.publishStatus(cluster, "ready");

    await waitFor(() => expect(within(row).getByTestId("cluster-status")).toHaveTextContent("ready"));
    expect(listCalls()).toBe(before);
  });

  it("shows the failure and adds it to the cluster's history", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "provisioning");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await screen.findByRole("heading", { name: "dev" });
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    await screen.findByText("provisioning");

    gateway.publishStatus(cluster, "failed", "kind: timed out waiting for the control plane");

    expect(await screen.findByText("Provisioning failed")).toBeInTheDocument();
    const history = screen.getByLabelText("Status history");
    expect(within(history).getByText("failed")).toBeInTheDocument();
    expect(within(history).getByText(/timed out waiting/)).toBeInTheDocument();
  });
});

describe("a cluster becoming ready", () => {
  it("reads the cluster again for its endpoint", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "provisioning");
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await screen.findByRole("heading", { name: "dev" });
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    const reads = () => gateway.requests.filter((r) => r.path === `/api/v1/clusters/${cluster.id}`).length;
    expect(reads()).toBe(1);

    gateway.clusters.get(cluster.id)!.endpoint = `http://localhost:3000/k8s/clusters/${cluster.id}`;
    gateway.publishStatus(cluster, "ready");

    expect(await screen.findByText(`http://localhost:3000/k8s/clusters/${cluster.id}`)).toBeInTheDocument();
    expect(reads()).toBe(2);
  });
});

describe("the event stream's ticket", () => {
  it("opens the stream with a ticket, never a token in the URL", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    renderApp("/", signedInStore(gateway, me));

    await waitFor(() => expect(gateway.openStreams).toBe(1));
    expect(gateway.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/events/tickets")).toHaveLength(1);
    const [url] = gateway.streamUrls;
    expect(url.searchParams.get("ticket")).toMatch(/^st-/);
    expect(url.searchParams.has("access_token")).toBe(false);
    expect(url.searchParams.has("last_event_id")).toBe(false);
  });

  it("reconnects with a new ticket and the last event seen when the stream ends", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "provisioning");
    renderApp("/", signedInStore(gateway, me));
    const row = await screen.findByTestId("cluster-row-dev");
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    await screen.findByText("live");
    gateway.publishStatus(cluster, "ready");
    await waitFor(() => expect(within(row).getByTestId("cluster-status")).toHaveTextContent("ready"));

    gateway.endStreams();

    await waitFor(() => expect(gateway.openStreams).toBe(1));
    const [first, second] = gateway.streamUrls;
    expect(second.searchParams.get("ticket")).not.toBe(first.searchParams.get("ticket"));
    expect(second.searchParams.get("last_event_id")).toBe("1");
  });

  it("refreshes an expired access token before asking for the next ticket", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    renderApp("/", signedInStore(gateway, me));
    await waitFor(() => expect(gateway.openStreams).toBe(1));

    gateway.expireAccessTokens();
    gateway.endStreams();

    await waitFor(() => expect(gateway.streamUrls).toHaveLength(2));
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    const paths = gateway.requests.map((r) => `${r.method} ${r.path}`);
    const refresh = paths.lastIndexOf("POST /api/v1/auth/refresh");
    expect(refresh).toBeGreaterThan(-1);
    expect(paths.lastIndexOf("POST /api/v1/events/tickets")).toBeGreaterThan(refresh);
  });
});
