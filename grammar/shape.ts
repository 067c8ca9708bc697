/**
 * The shape of one instruction, from its logical line: keyword, flags, args (by keyword), ONBUILD's
 * sub-instruction and heredoc markers. Spans are offsets into the logical line.
 */
import {
  ARG_STYLE,
  type ArgWord,
  commandArgs,
  GrammarFault,
  healthcheckArgs,
  nameValArgs,
  parseJSONArgs,
  parseWords,
  splitW,
} from "./args.js";
import { type HeredocMarker, HeredocNameError, heredocMarkers } from "./heredoc.js";
import { type FlagWord, type Span, splitInstruction } from "./instruction.js";

export interface InstructionShape {
  keyword: string;
  /** Lower-cased keyword (Go strings.ToLower, invalid bytes → U+FFFD); set by the caller's lower(). */
  keywordSpan: Span;
  flags: FlagWord[];
  args: ArgWord[];
  json: boolean;
  sub?: InstructionShape;
  heredocs: HeredocMarker[];
}

const HEREDOC_KEYWORDS = new Set(["run", "copy", "add"]);

/**
 * Parses line[from, to). `lower` lower-cases a keyword the way Go does. Throws GrammarFault for the fatal
 * errors of the language (JSON non-strings, ENV/LABEL forms, heredoc names).
 */
export function shapeInstruction(
  line: string,
  from: number,
  to: number,
  esc: number,
  lower: (k: string) => string,
): InstructionShape {
  const split = splitInstruction(line, from, to, esc);
  const keyword = line.slice(split.keyword.start, split.keyword.end);
  const lk = lower(keyword);
  const shape: InstructionShape = {
    keyword,
    keywordSpan: split.keyword,
    flags: split.flags,
    args: [],
    json: false,
    heredocs: [],
  };
  const rest = split.rest;
  const style = ARG_STYLE[lk];
  switch (style) {
    case "words":
      shape.args = splitW(rest);
      break;
    case "list": {
      const json = parseJSONArgs(rest);
      if (json) {
        shape.args = json;
        shape.json = true;
      } else shape.args = splitW(rest);
      break;
    }
    case "command": {
      const c = commandArgs(rest);
      shape.args = c.args;
      shape.json = c.json;
      break;
    }
    case "text":
      if (rest.text !== "")
        shape.args = [{ value: rest.text, start: rest.offset, end: rest.offset + rest.text.length }];
      break;
    case "healthcheck": {
      const c = healthcheckArgs(rest);
      shape.args = c.args;
      shape.json = c.json;
      break;
    }
    case "nameval":
      shape.args = nameValArgs(rest, esc, keyword);
      break;
    case "arg":
      shape.args = parseWords(rest, esc);
      break;
    case "sub":
      if (rest.text !== "") {
        shape.sub = shapeInstruction(rest.text, 0, rest.text.length, esc, lower);
        shiftShape(shape.sub, rest.offset);
      }
      break;
    default:
      shape.args = [{ value: "", start: rest.offset, end: rest.offset }];
  }
  return shape;
}

/** Heredoc markers of a whole logical line whose shape is known (for ONBUILD: its sub-instruction). */
export function heredocsOf(
  line: string,
  shape: InstructionShape,
  lower: (k: string) => string,
): HeredocMarker[] {
  const target = lower(shape.keyword) === "onbuild" ? shape.sub : shape;
  if (!target || target.json || !HEREDOC_KEYWORDS.has(lower(target.keyword))) return [];
  try {
    return heredocMarkers(line);
  } catch (e) {
    if (e instanceof HeredocNameError) {
      throw new GrammarFault(
        e.message,
        { start: 0, end: line.length },
        "check the quotes of the heredoc delimiter",
      );
    }
    throw e;
  }
}

function shiftShape(s: InstructionShape, by: number): void {
  const shift = (sp: Span): void => {
    sp.start += by;
    sp.end += by;
  };
  shift(s.keywordSpan);
  for (const f of s.flags) shift(f);
  for (const a of s.args) shift(a);
  if (s.sub) shiftShape(s.sub, by);
}
