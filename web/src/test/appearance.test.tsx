import { screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp, signedInStore, installGateway } from "./render";

const scheme = () => document.documentElement.getAttribute("data-mantine-color-scheme");
const systemMatchMedia = window.matchMedia;

/** The system setting as the browser reports it through prefers-color-scheme. */
function systemPrefers(dark: boolean) {
  window.matchMedia = vi.fn().mockImplementation((query: string) => ({
    matches: dark && query.includes("dark"),
    media: query,
    onchange: null,
    addListener: vi.fn(),
    removeListener: vi.fn(),
    addEventListener: vi.fn(),
    removeEventListener: vi.fn(),
    dispatchEvent: vi.fn(),
  }));
}

function signedIn() {
  const gateway = installGateway();
  const mia = gateway.addUser("mia");
  return { gateway, store: signedInStore(gateway, mia) };
}

afterEach(() => {
  window.matchMedia = systemMatchMedia;
});

describe("colour scheme", () => {
  it.each([
    [true, "dark"],
    [false, "light"],
  ])("follows the system setting by default (system dark: %s)", async (dark, expected) => {
    systemPrefers(dark);
    const { store } = signedIn();
    renderApp("/", store);
    await screen.findByRole("heading", { name: "Clusters" });
    await waitFor(() => expect(scheme()).toBe(expected));
  });

  it("switches from the user menu and remembers the choice across a reload", async () => {
    systemPrefers(false);
    const { store } = signedIn();
    const { user, unmount } = renderApp("/", store);

    await user.click(await screen.findByRole("button", { name: "Account: mia" }));
    expect(screen.getByRole("radio", { name: "System" })).toBeChecked();
    await user.click(screen.getByRole("radio", { name: "Dark" }));
    await waitFor(() => expect(scheme()).toBe("dark"));
    expect(localStorage.getItem("pyk8s-color-scheme")).toBe("dark");
    unmount();

    renderApp("/", store);
    await screen.findByRole("heading", { name: "Clusters" });
    await waitFor(() => expect(scheme()).toBe("dark"));
    await user.click(await screen.findByRole("button", { name: "Account: mia" }));
    expect(screen.getByRole("radio", { name: "Dark" })).toBeChecked();
    await user.click(screen.getByRole("radio", { name: "System" }));
    await waitFor(() => expect(scheme()).toBe("light"));
    expect(localStorage.getItem("pyk8s-color-scheme")).toBe("auto");
  });
});

describe("user menu", () => {
  it("shows who is signed in and logs out", async () => {
    const { store } = signedIn();
    const { user } = renderApp("/", store);

    const account = await screen.findByRole("button", { name: "Account: mia" });
    expect(account).toHaveTextContent("mia");
    await user.click(account);
    await user.click(screen.getByRole("menuitem", { name: "Log out" }));
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeInTheDocument();
    expect(store.getState().auth.session).toBeNull();
  });
});
