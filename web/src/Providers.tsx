import { MantineProvider } from "@mantine/core";
import { ModalsProvider } from "@mantine/modals";
import { Notifications } from "@mantine/notifications";
import type { ReactNode } from "react";
import { Provider } from "react-redux";
import type { AppStore } from "./store";
import { colorSchemeManager, cssVariablesResolver, theme } from "./theme";

interface Props {
  store: AppStore;
  children: ReactNode;
  /** "test" turns off transitions and portals, as Mantine recommends under jsdom. */
  env?: "default" | "test";
}

export function Providers({ store, children, env = "default" }: Props) {
  return (
    <Provider store={store}>
      <MantineProvider
        theme={theme}
        cssVariablesResolver={cssVariablesResolver}
        colorSchemeManager={colorSchemeManager}
        defaultColorScheme="auto"
        env={env}
      >
        <ModalsProvider>
          <Notifications position="bottom-right" />
          {children}
        </ModalsProvider>
      </MantineProvider>
    </Provider>
  );
}
