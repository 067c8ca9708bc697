/**
 * `dumpDockerfile`: the `gantry parse --dump` text, byte-for-byte BuildKit's `parser.Node.Dump()` (see
 * shared/spec/dockerfile-dump.md): one `(keyword ["flags"…] "args"…)` line per instruction.
 */

import { trimS } from "../../grammar/chars.js";
import type { RawDockerfile, RawInstruction } from "./raw.js";
import { goQuote } from "./text.js";

/** dump(instr) without the surrounding parentheses. */
export function dumpInstruction(instr: RawInstruction): string {
  let s = instr.lower;
  if (instr.flags.length > 0) s += ` [${instr.flags.map((f) => goQuote(f.text)).join(" ")}]`;
  if (instr.sub) s += ` (${dumpInstruction(instr.sub)})`;
  else for (const a of instr.args) s += ` ${goQuote(a.value)}`;
  // Go's Node.Dump trims the result with strings.TrimSpace.
  return trimS(s);
}

export function dumpDockerfile(raw: RawDockerfile): string {
  let out = "";
  for (const instr of raw.instructions) out += `(${dumpInstruction(instr)})\n`;
  return out;
}
