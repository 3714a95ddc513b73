import { render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { signedIn } from "../features/auth/authSlice";
import { Providers } from "../Providers";
import { AppRoutes } from "../App";
import { makeStore } from "../store";
import { GatewayDouble } from "./gatewayDouble";
import { server } from "./server";

/** A fresh gateway double installed as the HTTP API for this test. */
export function installGateway(): GatewayDouble {
  const gateway = new GatewayDouble();
  server.use(...gateway.handlers());
  return gateway;
}

export function signedInStore(gateway: GatewayDouble, user: Parameters<GatewayDouble["sessionFor"]>[0]) {
  const store = makeStore();
  store.dispatch(signedIn(gateway.sessionFor(user)));
  return store;
}

/** Renders the whole app at `path`, as a browser would show it. */
export function renderApp(path: string, store = makeStore()) {
  const user = userEvent.setup();
  const view = render(
    <Providers store={store} env="test">
      <MemoryRouter initialEntries={[path]}>
        <AppRoutes />
      </MemoryRouter>
    </Providers>,
  );
  return { user, store, ...view };
}

/** Renders one component with the app's providers, mounted at `route` and visited at `path`. */
export function renderWith(element: ReactElement, store = makeStore(), path = "/", route = "/") {
  const user = userEvent.setup();
  const view = render(
    <Providers store={store} env="test">
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={route} element={element} />
          <Route path="*" element={<div data-testid="navigated" />} />
        </Routes>
      </MemoryRouter>
    </Providers>,
  );
  return { user, store, ...view };
}
