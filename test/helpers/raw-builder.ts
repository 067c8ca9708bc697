/**
 * Builds raw trees by hand for frontend tests, one instruction per line, without the real grammar: words
 * are split on spaces, `--x` words before the args are flags, a `[`…`]` rest is exec form, ENV/LABEL words
 * become (key, value, "=") triples and `ONBUILD X …` gets a sub-instruction. Columns are exact.
 */
import type { RawArg, RawDockerfile, RawFlag, RawInstruction, SourceRange } from "../../src/frontend/raw.js";

interface Word {
  text: string;
  start: number; // 0-based column
}

function words(line: string, from: number): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  re.lastIndex = from;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], start: m.index });
  return out;
}

function range(line: number, start: number, end: number): SourceRange {
  return { start: { line, column: start + 1 }, end: { line, column: end + 1 } };
}

function instructionAt(text: string, lineNo: number, offset: number): RawInstruction {
  const all = words(text, offset);
  const kw = all[0]!;
  const flags: RawFlag[] = [];
  let i = 1;
  if (kw.text.toLowerCase() !== "arg") {
    for (; i < all.length && all[i]!.text.startsWith("--"); i++) {
      const w = all[i]!;
      if (w.text === "--") {
        i++;
        break;
      }
      const eq = w.text.indexOf("=");
      const name = eq < 0 ? w.text.slice(2) : w.text.slice(2, eq);
      flags.push({
        text: w.text,
        name,
        ...(eq < 0 ? {} : { value: w.text.slice(eq + 1) }),
        range: range(lineNo, w.start, w.start + w.text.length),
      });
    }
  }
  const lower = kw.text.toLowerCase();
  const rest = all.slice(i);
  const restStart = rest[0]?.start ?? text.length;
  const restText = text.slice(restStart).trimEnd();
  let args: RawArg[] = [];
  let json = false;
  let sub: RawInstruction | undefined;
  const argOf = (w: Word): RawArg => ({
    value: w.text,
    range: range(lineNo, w.start, w.start + w.text.length),
  });
  if (lower === "onbuild" && rest.length > 0) {
    sub = instructionAt(text, lineNo, restStart);
  } else if (
    restText.startsWith("[") &&
    ["run", "cmd", "entrypoint", "shell", "copy", "add", "volume"].includes(lower)
  ) {
    json = true;
    const values = JSON.parse(restText) as string[];
    args = values.map((v) => ({ value: v, range: range(lineNo, restStart, restStart + restText.length) }));
  } else if (
    ["run", "cmd", "entrypoint", "shell", "maintainer", "user", "workdir", "stopsignal"].includes(lower)
  ) {
    if (rest.length > 0)
      args = [{ value: restText, range: range(lineNo, restStart, restStart + restText.length) }];
  } else if (lower === "healthcheck") {
    if (rest.length > 0) {
      args.push(argOf(rest[0]!));
      const cmdStart = rest[1]?.start;
      if (cmdStart !== undefined) {
        const cmdText = text.slice(cmdStart).trimEnd();
        if (cmdText.startsWith("[")) {
          json = true;
          for (const v of JSON.parse(cmdText) as string[]) {
            args.push({ value: v, range: range(lineNo, cmdStart, cmdStart + cmdText.length) });
          }
        } else {
          args.push({ value: cmdText, range: range(lineNo, cmdStart, cmdStart + cmdText.length) });
        }
      }
    }
  } else if (lower === "env" || lower === "label") {
    if (rest.length > 0 && !rest[0]!.text.includes("=")) {
      const key = rest[0]!;
      const valueStart = rest[1]!.start;
      const value = text.slice(valueStart).trimEnd();
      args = [
        argOf(key),
        { value, range: range(lineNo, valueStart, valueStart + value.length) },
        { value: "", range: range(lineNo, valueStart, valueStart) },
      ];
    } else {
      for (const w of rest) {
        const eq = w.text.indexOf("=");
        args.push({ value: w.text.slice(0, eq), range: range(lineNo, w.start, w.start + eq) });
        args.push({
          value: w.text.slice(eq + 1),
          range: range(lineNo, w.start + eq + 1, w.start + w.text.length),
        });
        args.push({ value: "=", range: range(lineNo, w.start + eq, w.start + eq + 1) });
      }
    }
  } else {
    args = rest.map(argOf);
  }
  const end = text.trimEnd().length;
  return {
    keyword: kw.text,
    lower,
    keywordRange: range(lineNo, kw.start, kw.start + kw.text.length),
    flags,
    args,
    json,
    sub,
    heredocs: [],
    range: range(lineNo, kw.start, end),
    original: text.slice(offset).trim(),
    comments: [],
  };
}

/** A raw tree for `source`: every non-empty, non-comment line is one instruction. */
export function rawFromLines(source: string, file = "Dockerfile"): RawDockerfile {
  const lines = source.split("\n");
  const instructions: RawInstruction[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "" || line.trim().startsWith("#")) return;
    instructions.push(instructionAt(line, i + 1, 0));
  });
  return { file, lines, escapeChar: "\\", directives: [], instructions, warnings: [] };
}
