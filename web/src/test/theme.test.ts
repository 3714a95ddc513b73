import { DEFAULT_THEME, defaultCssVariablesResolver, mergeMantineTheme, type MantineTheme } from "@mantine/core";
import { describe, expect, it } from "vitest";
import { cssVariablesResolver, theme } from "../theme";

type Scheme = "light" | "dark";

/** The colour a CSS variable of `scheme` ends up as, following var(--mantine-color-<name>-<shade>). */
function resolve(value: string, full: MantineTheme): string {
  const short = value.match(/^#([0-9a-f])([0-9a-f])([0-9a-f])$/i);
  if (short) return `#${short[1]}${short[1]}${short[2]}${short[2]}${short[3]}${short[3]}`;
  const reference = value.match(/^var\(--mantine-color-(\w+)-(\d)\)$/);
  if (reference) return full.colors[reference[1]][Number(reference[2])];
  if (value === "var(--mantine-color-white)") return resolve(full.white, full);
  if (value === "var(--mantine-color-black)") return resolve(full.black, full);
  return value;
}

/** What MantineProvider writes for `scheme`: the default variables, then the app's. */
function schemeColor(name: `--${string}`, scheme: Scheme): string {
  const full = mergeMantineTheme(DEFAULT_THEME, theme);
  const variables = { ...defaultCssVariablesResolver(full)[scheme], ...cssVariablesResolver(full)[scheme] };
  return resolve(variables[name], full);
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

describe("theme contrast", () => {
  it("computes the ratio WCAG gives for Mantine's own dimmed grey (the failing one)", () => {
    expect(contrast("#868e96", "#ffffff")).toBeCloseTo(3.32, 2);
  });

  it.each(["light", "dark"] as Scheme[])("%s: dimmed text on the page background is at least 4.5:1", (scheme) => {
    const dimmed = schemeColor("--mantine-color-dimmed", scheme);
    const body = schemeColor("--mantine-color-body", scheme);
    expect(dimmed).toMatch(/^#[0-9a-f]{6}$/i);
    expect(body).toMatch(/^#[0-9a-f]{6}$/i);
    expect(contrast(dimmed, body)).toBeGreaterThanOrEqual(4.5);
  });

  it("dark: dimmed text also reads on the raised surfaces (inputs, default buttons)", () => {
    const dimmed = schemeColor("--mantine-color-dimmed", "dark");
    expect(contrast(dimmed, schemeColor("--mantine-color-default", "dark"))).toBeGreaterThanOrEqual(4.5);
  });
});
