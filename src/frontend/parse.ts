/**
 * `parseDockerfile`: Dockerfile bytes → RawDockerfile (raw.ts), using the grammar in grammar/. Owns the
 * semantic checks BuildKit's parser makes (directives, line length, no instructions, heredoc termination),
 * turning grammar offsets into source ranges and every problem into a located ParseError with a hint.
 */
import type { IToken } from "chevrotain";
import {
  Bom,
  Comment,
  type DirectiveMatch,
  dockerfileParser,
  GrammarFault,
  heredocsOf,
  type InstructionShape,
  joinLogicalLine,
  type LogicalLine,
  matchDirective,
  scanEscape,
  shapeInstruction,
  tokenizeLines,
  trimNLEnd,
} from "../../grammar/index.js";
import { ParseError } from "../errors.js";
import { LineMapper, lineLocation, locationOf, physicalLines } from "./parse-positions.js";
import type { RawDirective, RawDockerfile, RawFlag, RawHeredoc, RawInstruction, RawWarning } from "./raw.js";
import { byteLength, decodeBytes, goToLower } from "./text.js";

/** BuildKit reads lines with bufio.Scanner: a line must stay below 64 KiB. */
export const MAX_LINE_BYTES = 65535;

interface ParsedInstruction {
  lines: IToken[];
  logical: LogicalLine;
  shape: InstructionShape;
  heredocs: RawHeredoc[];
}

export function parseDockerfile(source: Uint8Array | string, file: string): RawDockerfile {
  const text = typeof source === "string" ? source : decodeBytes(source);
  const display = file === "-" ? "<stdin>" : file;
  const lines = physicalLines(text);
  const escapeChar = scanEscape(text);
  const esc = escapeChar.charCodeAt(0);
  const tokens = tokenizeLines(text, escapeChar);
  const lineOf = lineNumbering(tokens, display, lines);

  const directives = readDirectives(text, tokens, lineOf, display, lines);
  const instructions: RawInstruction[] = [];
  const warnings: RawWarning[] = [];
  // Each instruction is finished as soon as the parser has its lines, so intermediate data dies young.
  const oracle = (lineToks: IToken[], la: (k: number) => IToken | undefined): number => {
    const p = analyse(text, lineToks, lineOf, esc, display, lines);
    const bodyLines = consumeHeredocs(text, p, la, lineOf, display, lines);
    const mapper = new LineMapper(text, p.logical);
    const instr = toRaw(p.shape, mapper, p.logical.text, commentsAbove(text, tokens, lineOf(lineToks[0]!)));
    instr.heredocs = p.heredocs;
    const last = p.logical.segments[p.logical.segments.length - 1]!;
    instr.range = { start: instr.keywordRange.start, end: mapper.pos(last.at + last.length, true) };
    if (p.logical.hasEmptyContinuation) {
      warnings.push({
        code: "NoEmptyContinuation",
        message: `Empty continuation line found in: ${p.logical.text}`,
        range: instr.range,
      });
    }
    instructions.push(instr);
    return bodyLines;
  };
  dockerfileParser().parseTokens(tokens, oracle);
  if (instructions.length === 0) {
    throw new ParseError("file with no instructions", {
      location: lineLocation(display, lines, Math.max(1, lines.length)),
      hint: "a Dockerfile needs at least one instruction, e.g. FROM scratch",
    });
  }
  return { file: display, lines, escapeChar, directives, instructions, warnings };
}

/**
 * The 1-based line number of each line token (tokens are one per physical line, so it is found by binary
 * search on start offsets; tokens are not modified). Also enforces the line-length limit.
 */
function lineNumbering(tokens: IToken[], file: string, lines: string[]): (tok: IToken) => number {
  const bom = tokens.length > 0 && tokens[0]!.tokenType === Bom ? 1 : 0;
  const starts = new Float64Array(tokens.length);
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k]!;
    starts[k] = tok.startOffset;
    const len = tok.image.length;
    if (len * 3 > MAX_LINE_BYTES && k >= bom) {
      const line = k - bom + 1;
      const body = tok.image.endsWith("\n") ? tok.image.slice(0, -1) : tok.image;
      const bytes = byteLength(body) + (line === 1 && bom ? 3 : 0);
      if (bytes > MAX_LINE_BYTES) {
        throw new ParseError(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, {
          location: lineLocation(file, lines, line),
          hint: `line ${line} is ${bytes} bytes; split it with line continuations (\\ at the end of a line)`,
        });
      }
    }
  }
  return (tok) => {
    const off = tok.startOffset;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo - bom + 1;
  };
}

function readDirectives(
  text: string,
  tokens: IToken[],
  lineOf: (tok: IToken) => number,
  file: string,
  lines: string[],
): RawDirective[] {
  const out: RawDirective[] = [];
  for (const tok of tokens) {
    if (tok.tokenType === Bom) continue;
    const d: DirectiveMatch | undefined = matchDirective(
      text,
      tok.startOffset,
      tok.startOffset + tok.image.length,
    );
    if (!d || tok.tokenType.name !== "Directive") break;
    const line = lineOf(tok);
    const col = d.valueStart - tok.startOffset + 1;
    const range = {
      start: { line, column: 1 },
      end: { line, column: trimNLEnd(tok.image, 0, tok.image.length) + 1 },
    };
    if (out.some((o) => o.name === d.name)) {
      throw new ParseError(`only one ${d.name} parser directive can be used`, {
        location: lineLocation(file, lines, line),
        hint: `remove this repeated "# ${d.name}=" line`,
      });
    }
    if (d.name === "escape" && d.value !== "\\" && d.value !== "`") {
      throw new ParseError(`invalid escape token '${d.value}' does not match ` + "[\\\\`]", {
        location: { ...lineLocation(file, lines, line, col), endColumn: col + d.value.length },
        hint: "the escape directive accepts only \\ (the default) or ` (backtick)",
      });
    }
    out.push({ name: d.name, value: d.value, range });
  }
  return out;
}

/** Joins and shapes one instruction; grammar faults become located ParseErrors. */
function analyse(
  text: string,
  lineToks: IToken[],
  lineOf: (tok: IToken) => number,
  esc: number,
  file: string,
  lines: string[],
): ParsedInstruction {
  const logical = joinLogicalLine(text, lineToks, esc, lineOf);
  try {
    const shape = shapeInstruction(logical.text, 0, logical.text.length, esc, goToLower);
    const markers = heredocsOf(logical.text, shape, goToLower);
    const heredocs = markers.map((m) => ({ ...m, content: "", range: emptyRange() }));
    return { lines: lineToks, logical, shape, heredocs };
  } catch (e) {
    if (!(e instanceof GrammarFault)) throw e;
    const range = new LineMapper(text, logical).range(e.span);
    throw new ParseError(e.message, { location: locationOf(file, lines, range), hint: e.hint });
  }
}

const emptyRange = () => ({ start: { line: 0, column: 0 }, end: { line: 0, column: 0 } });

/** Reads each heredoc body after the instruction; returns how many line tokens they take. */
function consumeHeredocs(
  text: string,
  p: ParsedInstruction,
  la: (k: number) => IToken | undefined,
  lineOf: (tok: IToken) => number,
  file: string,
  lines: string[],
): number {
  let k = 1;
  for (const h of p.heredocs) {
    const first = la(k);
    let content = "";
    for (;;) {
      const tok = la(k);
      if (!tok) {
        const at = lineOf(p.lines[0]!);
        throw new ParseError(`unterminated heredoc ${h.name}`, {
          location: lineLocation(file, lines, at),
          hint: `end the heredoc with a line containing only ${h.name}${h.chomp ? " (leading tabs allowed)" : ""}`,
        });
      }
      k++;
      let body = text.slice(
        tok.startOffset,
        trimNLEnd(text, tok.startOffset, tok.startOffset + tok.image.length),
      );
      let image = tok.image;
      if (h.chomp) {
        body = body.replace(/^\t+/, "");
        image = image.replace(/^\t+/, "");
      }
      if (body === h.name) {
        const endCol = tok.image.replace(/\r?\n$/, "").length + 1;
        h.range = {
          start: { line: lineOf(first!), column: 1 },
          end: { line: lineOf(tok), column: endCol },
        };
        break;
      }
      content += image;
    }
    h.content = content;
  }
  return k - 1;
}

function toRaw(shape: InstructionShape, m: LineMapper, original: string, comments: string[]): RawInstruction {
  const flags: RawFlag[] = shape.flags.map((f) => {
    const body = f.text.startsWith("--") ? f.text.slice(2) : f.text;
    const eq = body.indexOf("=");
    const flag: RawFlag = { text: f.text, name: eq < 0 ? body : body.slice(0, eq), range: m.range(f) };
    if (eq >= 0) flag.value = body.slice(eq + 1);
    return flag;
  });
  const instr: RawInstruction = {
    keyword: shape.keyword,
    lower: goToLower(shape.keyword),
    keywordRange: m.range(shape.keywordSpan),
    flags,
    args: shape.args.map((a) => ({ value: a.value, range: m.range(a) })),
    json: shape.json,
    heredocs: [],
    range: emptyRange(),
    original,
    comments,
  };
  if (shape.sub) {
    const sub = toRaw(shape.sub, m, original, []);
    sub.range = { start: sub.keywordRange.start, end: m.pos(original.length, true) };
    instr.sub = sub;
  }
  return instr;
}

/** The comment lines directly above the instruction starting at `first` (a blank line ends them). */
function commentsAbove(text: string, tokens: IToken[], firstLine: number): string[] {
  const out: string[] = [];
  // Line tokens are one per physical line: token index = line number - 1 (+1 after a BOM token).
  const offset = tokens[0]!.tokenType === Bom ? 0 : -1;
  for (let k = firstLine + offset - 1; k >= 0; k--) {
    const tok = tokens[k]!;
    if (tok.tokenType !== Comment) break;
    out.push(
      text
        .slice(tok.startOffset, tok.startOffset + tok.image.length)
        .trim()
        .slice(1)
        .trim(),
    );
  }
  return out.reverse();
}
