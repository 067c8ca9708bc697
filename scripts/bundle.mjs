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
await build({
  input: { main: path.join(root, "dist", "src", "cli", "main.js") },
  platform: "node",
  logLevel: "warn",
  output: {
    dir: outDir,
    // CommonJS, so bin/code-cache.cjs can compile it with a V8 code cache (Node 20 has none for ES modules).
    format: "cjs",
    entryFileNames: "[name].cjs",
    chunkFileNames: "chunks/[name]-[hash].cjs",
  },
});
