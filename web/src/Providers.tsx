import { createTheme, MantineProvider } from "@mantine/core";
import { ModalsProvider } from "@mantine/modals";
import { Notifications } from "@mantine/notifications";
import type { ReactNode } from "react";
import { Provider } from "react-redux";
import type { AppStore } from "./store";

export const theme = createTheme({ primaryColor: "indigo", defaultRadius: "md" });

interface Props {
  store: AppStore;
  children: ReactNode;
  /** "test" turns off transitions and portals, as Mantine recommends under jsdom. */
  env?: "default" | "test";
}

export function Providers({ store, children, env = "default" }: Props) {
  return (
    <Provider store={store}>
      <MantineProvider theme={theme} env={env}>
        <ModalsProvider>
          <Notifications position="bottom-right" />
          {children}
        </ModalsProvider>
      </MantineProvider>
    </Provider>
  );
}
