#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/ with rolldown: one module graph instead
// of ~230 files, so a cached `gantry build` spends its time building, not loading modules. Commands stay
// lazily loaded (each dynamic import becomes a chunk). bin/gantry prefers the bundle when it exists and
// loads it through bin/code-cache.cjs.
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "bundle");
await rm(outDir, { recursive: true, force: true });
/**
 * undici's Client requires its HTTP/2 module at load, and that requires `node:http2` (~7 ms of every
 * push, pull and cold build); Gantry never offers h2 (no `allowH2`), so the module is required on first
 * use instead. When undici changes that line the bundle simply keeps the eager require.
 */
const lazyUndiciH2 = {
  name: "lazy-undici-h2",
  transform(code, id) {
    if (!/[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/.test(id)) return null;
    const eager = "const connectH2 = require('./client-h2.js')";
    if (!code.includes(eager)) {
      this.warn("undici's client.js changed: node:http2 stays loaded eagerly");
      return null;
    }
    return code.replace(
      eager,
      "const connectH2 = (client, socket) => require('./client-h2.js')(client, socket)",
    );
  },
};

await build({
  input: { main: path.join(root, "dist", "src", "cli", "main.js") },
  platform: "node",
  logLevel: "warn",
  plugins: [lazyUndiciH2],
  output: {
    dir: outDir,
    // CommonJS, so bin/code-cache.cjs can compile it with a V8 code cache (Node 20 has none for ES modules).
    format: "cjs",
    entryFileNames: "[name].cjs",
    chunkFileNames: "chunks/[name]-[hash].cjs",
  },
});
