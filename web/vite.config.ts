/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, searchForWorkspaceRoot } from "vite";
import { compression } from "vite-plugin-compression2";

// In development the gateway runs separately; proxy the API and the terminal WebSocket to it.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  // Writes x.js.gz and x.js.br (gzip level 9, brotli quality 11) beside each file once, at
  // build time; the gateway sends the smallest one the browser accepts (gateway/pyk8s_gateway/web.py).
  plugins: [react(), compression({ algorithms: ["gzip", "brotliCompress"] })],
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
    rolldownOptions: {
      output: {
        codeSplitting: {
          // The libraries the first page needs, in one chunk of their own: its name (hash)
          // changes only when they do, so browsers keep it across releases of the app.
          // Libraries only later pages need (xterm.js, forms) stay in those pages' chunks.
          groups: [{ name: "vendor", test: /node_modules[\\/]/, tags: ["$initial"] }],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    testTimeout: 15000,
  },
});
