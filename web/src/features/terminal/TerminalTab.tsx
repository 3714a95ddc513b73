import "@xterm/xterm/css/xterm.css";
import { Alert, Box, Button, Group, Text, useComputedColorScheme } from "@mantine/core";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal, type ITheme } from "@xterm/xterm";
import { useCallback, useEffect, useRef, useState } from "react";
import { problemMessage } from "../../api/problem";
import { useTerminalTicketMutation } from "../clusters/clustersApi";
import { ackFrame, closeReason, helloFrame, inputFrame, parseControl, pingFrame, resizeFrame, socketUrl } from "./protocol";

type Phase = { state: "connecting" } | { state: "open" } | { state: "ended"; why: string };

const PING_MS = 20000;

/** The terminal's colours in each colour scheme of the page. */
export const TERMINAL_THEMES: Record<"light" | "dark", ITheme> = {
  light: { background: "#ffffff", foreground: "#1f2328", cursor: "#1f2328", selectionBackground: "#b6d7ff" },
  dark: { background: "#1a1b1e", foreground: "#e9ecef", cursor: "#e9ecef", selectionBackground: "#3b5bdb80" },
};

export default function TerminalTab({ clusterId }: { clusterId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [phase, setPhase] = useState<Phase>({ state: "connecting" });
  const [session, setSession] = useState(0);
  const [getTicket] = useTerminalTicketMutation();
  const reconnect = useCallback(() => setSession((n) => n + 1), []);
  const scheme = useComputedColorScheme("light");
  const colours = TERMINAL_THEMES[scheme];
  const terminal = useRef<Terminal | null>(null);
  const coloursRef = useRef(colours);
  // The colours follow the page's scheme without restarting the session.
  useEffect(() => {
    coloursRef.current = colours;
    if (terminal.current) terminal.current.options.theme = colours;
  }, [colours]);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const term = new Terminal({
      cursorBlink: true,
      fontSize: 14,
      convertEol: false,
      scrollback: 5000,
      theme: coloursRef.current,
    });
    terminal.current = term;
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    fit.fit();
    let socket: WebSocket | null = null;
    let ping: ReturnType<typeof setInterval> | undefined;
    let disposed = false;
    const end = (why: string) => {
      if (!disposed) setPhase({ state: "ended", why });
    };

    const sendResize = () => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(resizeFrame(term.cols, term.rows));
    };
    const observer = new ResizeObserver(() => {
      fit.fit();
      sendResize();
    });
    observer.observe(element);

    setPhase({ state: "connecting" });
    void (async () => {
      const result = await getTicket(clusterId);
      if (disposed) return;
      if (!("data" in result) || !result.data) {
        end(problemMessage(result.error));
        return;
      }
      socket = new WebSocket(socketUrl(result.data.ws_url));
      socket.binaryType = "arraybuffer";
      socket.onopen = () => {
        fit.fit();
        socket?.send(helloFrame(result.data.ticket, term.cols, term.rows));
        ping = setInterval(() => socket?.readyState === WebSocket.OPEN && socket.send(pingFrame()), PING_MS);
      };
      socket.onmessage = (message) => {
        if (typeof message.data !== "string") {
          const bytes = new Uint8Array(message.data as ArrayBuffer);
          // Acknowledge once drawn, so a flood is paced by how fast this tab renders.
          term.write(bytes, () => {
            if (socket?.readyState === WebSocket.OPEN) socket.send(ackFrame(bytes.length));
          });
          return;
        }
        const frame = parseControl(message.data as string);
        if (frame?.type === "ready") {
          setPhase({ state: "open" });
          sendResize();
          term.focus();
        } else if (frame?.type === "exit") {
          end(`The shell exited with code ${frame.code ?? "unknown"}.`);
        }
      };
      socket.onclose = (event) => {
        clearInterval(ping);
        setPhase((current) => (current.state === "ended" ? current : { state: "ended", why: closeReason(event.code, event.reason) }));
      };
    })();
    const input = term.onData((data) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(inputFrame(data));
    });

    return () => {
      disposed = true;
      clearInterval(ping);
      observer.disconnect();
      input.dispose();
      socket?.close(1000, "closed by the user");
      term.dispose();
      terminal.current = null;
    };
  }, [clusterId, session, getTicket]);

  return (
    <Box>
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Text size="sm" c="dimmed" aria-live="polite">
          {phase.state === "connecting" ? "Connecting…" : phase.state === "open" ? "Connected" : "Disconnected"}
        </Text>
        <Button size="xs" variant="default" onClick={reconnect} disabled={phase.state === "connecting"}>
          Reconnect
        </Button>
      </Group>
      {phase.state === "ended" && (
        <Alert color="yellow" mb="xs" title="Session ended">
          {phase.why}
        </Alert>
      )}
      <Box
        style={{
          height: "60vh",
          minHeight: 240,
          background: colours.background,
          border: "1px solid var(--mantine-color-default-border)",
          padding: 6,
          borderRadius: 4,
        }}
      >
        <div ref={host} data-testid="terminal" style={{ height: "100%", width: "100%", overflow: "hidden" }} />
      </Box>
    </Box>
  );
}
