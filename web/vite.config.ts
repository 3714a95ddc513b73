/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, searchForWorkspaceRoot } from "vite";

// In development the gateway runs separately; proxy the API and the terminal WebSocket to it.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    // The table of rights lives with the contracts, outside web/ (src/permissions.ts).
    fs: { allow: [searchForWorkspaceRoot(process.cwd()), "../libs/contracts/pyk8s_contracts/rbac.json"] },
    proxy: {
      "/api": { target: gateway, changeOrigin: false },
      "/ws": { target: gateway, ws: true },
    },
  },
  build: {
    outDir: "dist",
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    testTimeout: 15000,
  },
});
