/**
 * Parse throughput: Gantry's parseDockerfile vs the npm package dockerfile-ast on the same generated
 * multi-megabyte Dockerfile. Prints MB/s for both and the ratio (run: npm run build && node bench/run.mjs parse).
 */
import { DockerfileParser } from "dockerfile-ast";
import { parseDockerfile } from "../../src/frontend/parse.js";
import { generateDockerfile } from "./generate.js";

const SIZE = 4 * 1024 * 1024;
const WARMUP = 3;
const ITERATIONS = 8;

function measure(name: string, bytes: number, run: () => unknown): number {
  for (let i = 0; i < WARMUP; i++) run();
  const gc = (globalThis as { gc?: () => void }).gc;
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    gc?.();
    const t0 = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const mbps = bytes / (1024 * 1024) / median;
  console.log(`${name.padEnd(16)} median ${(median * 1000).toFixed(1)} ms  ${mbps.toFixed(1)} MB/s`);
  return mbps;
}

const text = generateDockerfile(SIZE);
const bytes = Buffer.from(text, "utf8");
const instructions = parseDockerfile(bytes, "bench.Dockerfile").instructions.length;
console.log(`input: ${(bytes.length / (1024 * 1024)).toFixed(2)} MB, ${instructions} instructions`);

const gantry = measure("gantry", bytes.length, () => parseDockerfile(bytes, "bench.Dockerfile"));
const peer = measure("dockerfile-ast", bytes.length, () => DockerfileParser.parse(text));
console.log(`ratio gantry/dockerfile-ast: ${(gantry / peer).toFixed(2)}x`);
if (gantry < 20) console.log("note: below the 20 MB/s target");
