import { createTheme, localStorageColorSchemeManager, type CSSVariablesResolver } from "@mantine/core";

export const theme = createTheme({ primaryColor: "indigo", defaultRadius: "md" });

/** Dimmed text (hints, times, descriptions, the user name) in each colour scheme. Mantine's
 * defaults (gray-6 on white, dark-2 on dark-7) fall below WCAG AA's 4.5:1 for normal text;
 * these keep it on the page background (checked in test/theme.test.ts). */
export const DIMMED = { light: "#5c636a", dark: "#a6a7ab" } as const;

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: { "--mantine-color-dimmed": DIMMED.light },
  dark: { "--mantine-color-dimmed": DIMMED.dark },
});

/** Light, dark or the system's setting ("auto", the default), remembered in this browser. */
export const colorSchemeManager = localStorageColorSchemeManager({ key: "pyk8s-color-scheme" });
