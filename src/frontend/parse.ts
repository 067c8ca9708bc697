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
  type HeredocMarker,
  heredocsOf,
  type InstructionShape,
  LogicalLine,
  matchDirective,
  scanEscape,
  shapeInstruction,
  tokenizeLines,
  trimNLEnd,
} from "../../grammar/index.js";
import { ParseError } from "../errors.js";
import { LineMapper, lineLocation, locationOf, physicalLines } from "./parse-positions.js";
import type {
  RawArg,
  RawDirective,
  RawDockerfile,
  RawFlag,
  RawHeredoc,
  RawInstruction,
  RawWarning,
  SourcePos,
} from "./raw.js";
import { byteLength, decodeBytes, goToLower } from "./text.js";

/** BuildKit reads lines with bufio.Scanner: a line must stay below 64 KiB. */
export const MAX_LINE_BYTES = 65535;

interface ParsedInstruction {
  lines: IToken[];
  logical: LogicalLine;
  shape: InstructionShape;
  markers: HeredocMarker[];
}

export function parseDockerfile(source: Uint8Array | string, file: string): RawDockerfile {
  const text = typeof source === "string" ? source : decodeBytes(source);
  const display = file === "-" ? "<stdin>" : file;
  const lines = physicalLines(text);
  const escapeChar = scanEscape(text);
  const esc = escapeChar.charCodeAt(0);
  const tokens = tokenizeLines(text, escapeChar);
  const lineOf = lineNumbering(tokens, display, lines);
  const mayBeAstral = HIGH_SURROGATE.test(text);
  const logicalLine = new LogicalLine(); // refilled for each instruction
  const mapper = new LineMapper(text, logicalLine); // maps the current instruction's spans

  const directives = readDirectives(text, tokens, lineOf, display, lines);
  const instructions: RawInstruction[] = [];
  const warnings: RawWarning[] = [];
  // Each instruction is finished as soon as the parser has its lines, so intermediate data dies young.
  const oracle = (lineToks: IToken[], la: (k: number) => IToken | undefined): number => {
    const firstLine = lineOf(lineToks[0]!);
    const logical = logicalLine.join(text, lineToks, esc, lineOf, mayBeAstral);
    const p = analyse(text, lineToks, logical, esc, display, lines);
    const heredocs: RawHeredoc[] = p.markers.length === 0 ? [] : new Array(p.markers.length);
    const bodyLines = consumeHeredocs(text, p, la, lineOf, display, lines, firstLine, heredocs);
    const end = mapper.pos(p.logical.end(), true);
    const comments = commentsAbove(text, tokens, firstLine);
    const instr = toRaw(p.shape, mapper, p.logical.text, comments, heredocs, end);
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
  // The parser asks in file order, so the line after the last answer (or the last answer) is checked first.
  let next = 0;
  return (tok) => {
    const off = tok.startOffset;
    let lo: number;
    if (starts[next] === off) lo = next;
    else if (next > 0 && starts[next - 1] === off) lo = next - 1;
    else {
      lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= off) lo = mid;
        else hi = mid - 1;
      }
    }
    next = lo + 1;
    return lo - bom + 1;
  };
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

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

/** Shapes one joined instruction; grammar faults become located ParseErrors. */
function analyse(
  text: string,
  lineToks: IToken[],
  logical: LogicalLine,
  esc: number,
  file: string,
  lines: string[],
): ParsedInstruction {
  try {
    const shape = shapeInstruction(logical.text, 0, logical.text.length, esc, goToLower);
    const markers = heredocsOf(logical.text, shape, goToLower);
    return { lines: lineToks, logical, shape, markers };
  } catch (e) {
    if (!(e instanceof GrammarFault)) throw e;
    const range = new LineMapper(text, logical).range(e.span);
    throw new ParseError(e.message, { location: locationOf(file, lines, range), hint: e.hint });
  }
}

/**
 * Reads each heredoc body after the instruction into `out` (one RawHeredoc per marker); returns how many
 * line tokens they take.
 */
function consumeHeredocs(
  text: string,
  p: ParsedInstruction,
  la: (k: number) => IToken | undefined,
  lineOf: (tok: IToken) => number,
  file: string,
  lines: string[],
  firstLine: number,
  out: RawHeredoc[],
): number {
  let k = 1;
  for (let i = 0; i < p.markers.length; i++) {
    const h = p.markers[i]!;
    const first = la(k);
    let content = "";
    let contentEnd = -1;
    for (;;) {
      const tok = la(k);
      if (!tok) {
        throw new ParseError(`unterminated heredoc ${h.name}`, {
          location: lineLocation(file, lines, firstLine),
          hint: `end the heredoc with a line containing only ${h.name}${h.chomp ? " (leading tabs allowed)" : ""}`,
        });
      }
      k++;
      const lineStart = tok.startOffset;
      const lineEnd = lineStart + tok.image.length;
      // With <<-, leading tabs are stripped from the body lines and from the terminator line.
      let from = lineStart;
      if (h.chomp) while (from < lineEnd && text.charCodeAt(from) === 0x09) from++;
      const bodyEnd = trimNLEnd(text, from, lineEnd);
      if (bodyEnd - from === h.name.length && text.startsWith(h.name, from)) {
        // Body lines are contiguous: unchomped content is one slice of the file text.
        if (contentEnd >= 0) content = text.slice(first!.startOffset, contentEnd);
        out[i] = {
          name: h.name,
          fileDescriptor: h.fileDescriptor,
          chomp: h.chomp,
          expand: h.expand,
          content,
          range: {
            start: { line: lineOf(first!), column: 1 },
            end: { line: lineOf(tok), column: imageEndColumn(tok.image) },
          },
        };
        break;
      }
      if (!h.chomp) contentEnd = lineEnd;
      else content += from === lineStart ? tok.image : text.slice(from, lineEnd);
    }
  }
  return k - 1;
}

/** 1 + the length of a line token's image without its `\n` or `\r\n`. */
function imageEndColumn(image: string): number {
  let n = image.length;
  if (n > 0 && image.charCodeAt(n - 1) === 0x0a) {
    n--;
    if (n > 0 && image.charCodeAt(n - 1) === 0x0d) n--;
  }
  return n + 1;
}

function toRaw(
  shape: InstructionShape,
  m: LineMapper,
  original: string,
  comments: string[],
  heredocs: RawHeredoc[],
  end: SourcePos,
): RawInstruction {
  const flags: RawFlag[] = new Array(shape.flags.length);
  for (let k = 0; k < flags.length; k++) {
    const f = shape.flags[k]!;
    const from = f.text.startsWith("--") ? 2 : 0;
    const eq = f.text.indexOf("=", from);
    const flag: RawFlag = {
      text: f.text,
      name: shared(eq < 0 ? f.text.slice(from) : f.text.slice(from, eq)),
      range: m.range(f),
    };
    if (eq >= 0) flag.value = f.text.slice(eq + 1);
    flags[k] = flag;
  }
  const args: RawArg[] = new Array(shape.args.length);
  for (let k = 0; k < args.length; k++) {
    const a = shape.args[k]!;
    args[k] = { value: a.value, range: m.range(a) };
  }
  const keywordRange = m.range(shape.keywordSpan);
  const instr: RawInstruction = {
    keyword: shared(shape.keyword),
    lower: goToLower(shape.keyword),
    keywordRange,
    flags,
    args,
    json: shape.json,
    heredocs,
    range: { start: keywordRange.start, end },
    original,
    comments,
  };
  if (shape.sub) instr.sub = toRaw(shape.sub, m, original, [], [], m.pos(original.length, true));
  return instr;
}

/**
 * Keywords and flag names come from a small vocabulary: one shared string per spelling (bounded), so a
 * large file does not keep thousands of copies of "RUN" alive through the young generation.
 */
const vocabulary = new Map<string, string>();
function shared(s: string): string {
  if (s.length > 32) return s;
  const known = vocabulary.get(s);
  if (known !== undefined) return known;
  if (vocabulary.size < 4096) vocabulary.set(s, s);
  return s;
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
