#!/usr/bin/env node
// Runs the benchmarks under bench/: `npm run bench` runs them all, `npm run bench -- parse registry` some.
// Each benchmark is bench/<name>/main.ts, compiled to dist/bench/<name>/main.js; it measures Gantry and a
// peer in the same run and prints the ratios.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "..", "dist", "bench");
const all = readdirSync(here).filter(
  (d) => statSync(path.join(here, d)).isDirectory() && existsSync(path.join(here, d, "main.ts")),
);
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  console.log(`\n=== bench/${name}`);
  const r = spawnSync(process.execPath, ["--expose-gc", path.join(dist, name, "main.js")], {
    stdio: "inherit",
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
