/**
 * The line lexer: chevrotain tokens for the physical lines of a Dockerfile. Every token is one whole physical
 * line including its `\n` (the last line may lack it); its type says what the line is on its own:
 *
 *   Bom        U+FEFF at offset 0 (a UTF-8 BOM; stripped from the first line only)
 *   Directive  `# key=value` with a known key, while only directives precede it
 *   Comment    first non-S char is `#`
 *   Blank      only S chars
 *   Continued  ends with the escape char E (+ blanks) per `([^E])E[ \t]*$` or `^E[ \t]*$`
 *   Final      any other line
 *
 * All line tokens share the category AnyLine, which heredoc bodies consume regardless of type. Whether a line
 * continues depends on E: the custom patterns close over the escape char of the file being tokenized.
 */
import { type CustomPatternMatcherReturn, createToken, type IToken, Lexer, type TokenType } from "chevrotain";
import { skipS, trimNLEnd } from "./chars.js";
import { matchDirective } from "./directives.js";

type LineKind = "Directive" | "Comment" | "Blank" | "Continued" | "Final";

/** The escape char of the file being tokenized (set by `tokenizeLines`; tokenizing is synchronous). */
let activeEscape = 0x5c;

/** One-entry memo so the patterns of the five line types classify each line once. */
let memoText = "";
let memoOffset = -1;
let memoEnd = 0;
let memoKind: LineKind = "Final";

function classifyAt(text: string, offset: number, tokens: IToken[]): LineKind {
  if (offset !== memoOffset || text !== memoText) {
    memoText = text;
    memoOffset = offset;
    const nl = text.indexOf("\n", offset);
    memoEnd = nl < 0 ? text.length : nl + 1;
    memoKind = classifyLine(text, offset, memoEnd, activeEscape, directivesStillOpen(tokens));
  }
  return memoKind;
}

function directivesStillOpen(tokens: IToken[]): boolean {
  if (tokens.length === 0) return true;
  const last = tokens[tokens.length - 1]!.tokenType;
  return last === Directive || last === Bom;
}

/** What one physical line text[start, end) is, on its own. */
export function classifyLine(
  text: string,
  start: number,
  end: number,
  esc: number,
  directivesOpen: boolean,
): LineKind {
  const contentEnd = trimNLEnd(text, start, end);
  const first = skipS(text, start, contentEnd);
  if (first === contentEnd) return "Blank";
  if (text.charCodeAt(first) === 0x23) {
    return directivesOpen && matchDirective(text, start, end) ? "Directive" : "Comment";
  }
  return continues(text, first, contentEnd, esc) >= 0 ? "Continued" : "Final";
}

/**
 * If text[start, end) ends with the escape char (+ spaces/tabs) that continues the line, the offset where the
 * kept text ends (E and the blanks after it are dropped); else -1.
 */
export function continues(text: string, start: number, end: number, esc: number): number {
  let i = end;
  while (i > start) {
    const c = text.charCodeAt(i - 1);
    if (c !== 0x20 && c !== 0x09) break;
    i--;
  }
  if (i === start || text.charCodeAt(i - 1) !== esc) return -1;
  const e = i - 1;
  if (e === start) return e; // `^E[ \t]*$`
  return text.charCodeAt(e - 1) === esc ? -1 : e; // `([^E])E[ \t]*$`
}

/** The match handed back to the lexer (reused: the lexer reads `[0]` at once and keeps only the string). */
const match: [string] = [""];

function linePattern(kind: LineKind) {
  return {
    exec: (text: string, offset: number, tokens: IToken[]): CustomPatternMatcherReturn | null => {
      if (classifyAt(text, offset, tokens) !== kind) return null;
      match[0] = text.slice(offset, memoEnd);
      return match as CustomPatternMatcherReturn;
    },
  };
}

export const AnyLine = createToken({ name: "AnyLine", pattern: Lexer.NA });
/** Comment | Blank: lines between instructions. */
export const Trivia = createToken({ name: "Trivia", pattern: Lexer.NA });
/** Comment | Blank | Continued: the lines that keep a continuation going. */
export const ContinuationPiece = createToken({ name: "ContinuationPiece", pattern: Lexer.NA });
export const Bom = createToken({
  name: "Bom",
  pattern: { exec: (text, offset) => (offset === 0 && text.charCodeAt(0) === 0xfeff ? ["\ufeff"] : null) },
});
const lineToken = (name: LineKind, categories: TokenType[] = []): TokenType =>
  createToken({ name, pattern: linePattern(name), line_breaks: true, categories: [AnyLine, ...categories] });
export const Directive = lineToken("Directive");
export const Comment = lineToken("Comment", [Trivia, ContinuationPiece]);
export const Blank = lineToken("Blank", [Trivia, ContinuationPiece]);
export const Continued = lineToken("Continued", [ContinuationPiece]);
export const Final = lineToken("Final");

/** Every token type, in lexer priority order (AnyLine is only a category). */
export const lineTokens: TokenType[] = [
  Bom,
  Directive,
  Comment,
  Blank,
  Continued,
  Final,
  AnyLine,
  Trivia,
  ContinuationPiece,
];

// Line kinds are exclusive (each line is classified once), so after Bom (which must see offset 0 first) the
// patterns are tried in order of frequency: most lines then match at the first or second try.
const lineLexer = new Lexer([Bom, Final, Continued, Comment, Blank, Directive], {
  positionTracking: "onlyOffset",
  ensureOptimizations: false,
  skipValidations: true,
});

/** Splits text into line tokens, with `escape` as the line-continuation char. */
export function tokenizeLines(text: string, esc: "\\" | "`"): IToken[] {
  activeEscape = esc.charCodeAt(0);
  memoOffset = -1;
  try {
    return lineLexer.tokenize(text).tokens;
  } finally {
    memoText = "";
  }
}
