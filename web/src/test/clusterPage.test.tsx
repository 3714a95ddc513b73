import { act, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

function facts() {
  return screen.getByLabelText("Cluster facts");
}

describe("cluster page facts", () => {
  it("shows the Kubernetes version it runs and the endpoint people reach, until it is deleted", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const cluster = gateway.addCluster("dev", me, null, "ready");
    cluster.kubernetes_version = "v1.34.0";
    renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await screen.findByRole("heading", { name: "dev" });
    await waitFor(() => expect(gateway.openStreams).toBe(1));

    expect(within(facts()).getByText("v1.34.0")).toBeInTheDocument();
    expect(within(facts()).getByText(`http://localhost:3000/k8s/clusters/${cluster.id}`)).toBeInTheDocument();
    // The platform's own address of the API server is not one people can reach.
    expect(screen.queryByText("https://127.0.0.1:6443")).not.toBeInTheDocument();

    act(() => gateway.publishStatus(cluster, "deleting"));
    act(() => gateway.publishStatus(cluster, "deleted"));
    await screen.findByRole("status", { name: /was deleted/ });
    expect(within(facts()).queryByText(/k8s\/clusters/)).not.toBeInTheDocument();
  });
});
