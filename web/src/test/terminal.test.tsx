import { act, screen, waitFor } from "@testing-library/react";
import { ws } from "msw";
import { describe, expect, it, vi } from "vitest";
import { server } from "./server";
import { TERMINAL_THEMES } from "../features/terminal/TerminalTab";
import { renderApp, signedInStore, installGateway } from "./render";

// jsdom cannot draw xterm.js (no canvas, no layout): a test double records what the tab
// writes and lets the test type, with the same calls the real Terminal offers.
const terminals = vi.hoisted(
  () => [] as { written: string[]; options: { theme?: { background?: string } }; type: (data: string) => void }[],
);
vi.mock("@xterm/xterm", () => ({
  Terminal: class TerminalDouble {
    cols = 100;
    rows = 30;
    written: string[] = [];
    options: Record<string, unknown>;
    private listeners: ((data: string) => void)[] = [];
    constructor(options: Record<string, unknown> = {}) {
      this.options = { ...options };
      terminals.push(this);
    }
    loadAddon() {}
    open() {}
    focus() {}
    dispose() {}
    write(data: string | Uint8Array, done?: () => void) {
      this.written.push(typeof data === "string" ? data : new TextDecoder().decode(data));
      done?.();
    }
    onData(listener: (data: string) => void) {
      this.listeners.push(listener);
      return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
    }
    type(data: string) {
      this.listeners.forEach((l) => l(data));
    }
  },
}));
vi.mock("@xterm/addon-fit", () => ({ FitAddon: class FitAddonDouble { fit() {} } }));
vi.mock("@xterm/xterm/css/xterm.css", () => ({}));

const socket = ws.link("ws://localhost:3000/ws/terminal/*");

type Received = string | ArrayBuffer | Blob | ArrayBufferView;

async function bytesOf(data: Received): Promise<string> {
  if (typeof data === "string") return data;
  if (data instanceof Blob) return new TextDecoder().decode(await data.arrayBuffer());
  return new TextDecoder().decode(data instanceof ArrayBuffer ? data : data.buffer);
}

function readyCluster() {
  const gateway = installGateway();
  const me = gateway.addUser("mia");
  const team = gateway.addTeam("platform", [[me, "member"]]);
  const cluster = gateway.addCluster("dev", me, team, "ready");
  return { gateway, me, cluster };
}

describe("terminal tab", () => {
  it("sends the ticket first, shows output, acknowledges it and sends keystrokes", async () => {
    const { gateway, me, cluster } = readyCluster();
    const frames: { text?: string; binary?: string }[] = [];
    server.use(
      socket.addEventListener("connection", ({ client }) => {
        client.addEventListener("message", async (event) => {
          const data = event.data as Received;
          if (typeof data === "string") {
            frames.push({ text: data });
            const frame = JSON.parse(data);
            if (frame.type === "hello") {
              client.send(JSON.stringify({ type: "ready", session_id: "s1" }));
              client.send(new TextEncoder().encode("bash-5.2# "));
            }
          } else {
            frames.push({ binary: await bytesOf(data) });
          }
        });
      }),
    );
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("tab", { name: "Terminal" }));
    expect(await screen.findByText("Connected")).toBeInTheDocument();
    expect(JSON.parse(frames[0].text!)).toEqual({ type: "hello", ticket: gateway.tickets[0], cols: 100, rows: 30 });
    const term = terminals.at(-1)!;
    await waitFor(() => expect(term.written.join("")).toContain("bash-5.2# "));
    await waitFor(() => expect(frames.map((f) => f.text)).toContain(JSON.stringify({ type: "ack", bytes: 10 })));

    act(() => term.type("ls\r"));
    await waitFor(() => expect(frames.some((f) => f.binary === "ls\r")).toBe(true));
  });

  it("says the shell exited with its code, and reconnects with a new ticket", async () => {
    const { gateway, me, cluster } = readyCluster();
    server.use(
      socket.addEventListener("connection", ({ client }) => {
        client.addEventListener("message", (event) => {
          if (typeof event.data === "string" && JSON.parse(event.data).type === "hello") {
            client.send(JSON.stringify({ type: "ready", session_id: "s1" }));
            client.send(JSON.stringify({ type: "exit", code: 3 }));
            // msw drops frames still queued when the socket closes; a browser delivers them
            // first, so the double closes on the next turn.
            setTimeout(() => client.close(1000, "exited"), 0);
          }
        });
      }),
    );
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("tab", { name: "Terminal" }));
    expect(await screen.findByText("The shell exited with code 3.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Reconnect" }));
    await waitFor(() => expect(gateway.tickets).toHaveLength(2));
  });

  it("shows the reason when the gateway refuses the session", async () => {
    const { gateway, me, cluster } = readyCluster();
    server.use(
      socket.addEventListener("connection", ({ client }) => {
        client.addEventListener("message", () => client.close(1008, "ticket expired or already used"));
      }),
    );
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("tab", { name: "Terminal" }));
    expect(await screen.findByText("ticket expired or already used (1008)")).toBeInTheDocument();
    expect(screen.getByText("Disconnected")).toBeInTheDocument();
  });
});

describe("terminal colours", () => {
  it("follow the page's colour scheme, also when it changes during a session", async () => {
    const { gateway, me, cluster } = readyCluster();
    localStorage.setItem("pyk8s-color-scheme", "dark");
    server.use(socket.addEventListener("connection", () => {}));
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));

    await user.click(await screen.findByRole("tab", { name: "Terminal" }));
    await screen.findByRole("button", { name: "Reconnect" });
    const term = terminals.at(-1)!;
    expect(term.options.theme).toEqual(TERMINAL_THEMES.dark);

    await user.click(screen.getByRole("button", { name: "Account: mia" }));
    await user.click(screen.getByRole("radio", { name: "Light" }));
    await waitFor(() => expect(term.options.theme).toEqual(TERMINAL_THEMES.light));
    expect(terminals.at(-1)).toBe(term); // the same session, recoloured
  });
});

describe("terminal tab and the cluster's status", () => {
  it("goes away, back to the overview, when the cluster starts deleting", async () => {
    const { gateway, me, cluster } = readyCluster();
    server.use(socket.addEventListener("connection", () => {}));
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    await user.click(await screen.findByRole("tab", { name: "Terminal" }));
    await screen.findByRole("button", { name: "Reconnect" });

    act(() => gateway.publishStatus(cluster, "deleting"));

    await waitFor(() => expect(screen.queryByRole("tab", { name: "Terminal" })).not.toBeInTheDocument());
    expect(screen.getByRole("tab", { name: "Overview", selected: true })).toBeInTheDocument();
    expect(screen.getByLabelText("Status history")).toHaveTextContent("deleting");
  });

  it("tells me who deleted it, that my session ended, and the way back to the list", async () => {
    const { gateway, me, cluster } = readyCluster();
    const olga = gateway.addUser("olga");
    gateway.teams.get(cluster.team_id!)!.members.set(olga.id, { role: "admin", joined_at: new Date().toISOString() });
    server.use(socket.addEventListener("connection", () => {}));
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await waitFor(() => expect(gateway.openStreams).toBe(1));
    await user.click(await screen.findByRole("tab", { name: "Terminal" }));
    await screen.findByRole("button", { name: "Reconnect" });

    Object.assign(gateway.clusters.get(cluster.id)!, { deleted_by: olga.id, deleted_by_email: olga.email });
    act(() => gateway.publishStatus(cluster, "deleting"));

    const notice = await screen.findByRole("status", { name: /being deleted by olga@example.com/ });
    expect(notice).toHaveTextContent("Your terminal session on it has ended.");
    act(() => gateway.publishStatus(cluster, "deleted"));
    expect(await screen.findByRole("status", { name: "This cluster was deleted by olga@example.com" })).toBeInTheDocument();
    await user.click(screen.getByRole("link", { name: "Back to clusters" }));
    expect(await screen.findByRole("heading", { name: "Clusters" })).toBeInTheDocument();
  });

  it("says I deleted it myself, without a session notice off the terminal", async () => {
    const { gateway, me, cluster } = readyCluster();
    const { user } = renderApp(`/clusters/${cluster.id}`, signedInStore(gateway, me));
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    await user.click(await screen.findByRole("button", { name: "Delete cluster" }));

    expect(await screen.findByRole("status", { name: "This cluster is being deleted by you" })).toBeInTheDocument();
    expect(screen.queryByText(/session on it has ended/)).not.toBeInTheDocument();
  });
});
