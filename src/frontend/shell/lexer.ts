/**
 * The shell-word lexer: one pass over a Dockerfile word that removes quotes and escapes and expands `$name`,
 * `${name}` and the `${name<op>word}` forms, following BuildKit's frontend/dockerfile/shell/lex.go
 * (ProcessWord / ProcessWords) including its edge cases. It works on code points; offsets in errors are
 * UTF-16 indexes into the word, pointing at the `$` of the failing substitution or the opening quote.
 */

import { ExpansionError } from "../../errors.js";
import { EOF, isDigit, isNameChar, isSpace } from "./chars.js";
import { PatternSyntaxError, replacePattern, trimPatternPrefix, trimPatternSuffix } from "./pattern.js";

/** Looks a variable up; `undefined` means unset (an empty string is set). */
export type VarLookup = (name: string) => string | undefined;

/** BuildKit's Lex switches (all off by default, as in ProcessWord). */
export interface LexerModes {
  /** `'` and `"` are ordinary characters (BuildKit's SkipProcessQuotes; used for heredoc bodies). */
  skipProcessQuotes: boolean;
  /** Quote characters are kept in the result (RawQuotes). */
  rawQuotes: boolean;
  /** Escape characters are kept in the result (RawEscapes). */
  rawEscapes: boolean;
  /** A reference to an unset variable is left as written instead of expanding (SkipUnsetEnv). */
  skipUnsetEnv: boolean;
}

const DOLLAR = 0x24;
const SINGLE_QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COLON = 0x3a;
const SLASH = 0x2f;
const BOM = 0xfeff;

// biome-ignore lint/suspicious/noTemplateCurlyInString: BuildKit's message names the `${}` syntax
const MISSING_SLASH = "syntax error: missing '/' in ${}";
const SYNTAX_HINT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: this is shell syntax, not a template
  "substitutions are $name, ${name} or ${name<op>word} with op one of :- - :+ + :? ? # ## % %% / //";

/** Collects ProcessWords' split words: unquoted expansion results and bare characters split on spaces. */
export class WordSplitter {
  private readonly words: string[] = [];
  private current = "";
  private inWord = false;

  addChar(cp: number): void {
    if (isSpace(cp)) {
      if (this.inWord && this.current.length > 0) {
        this.words.push(this.current);
        this.current = "";
        this.inWord = false;
      }
    } else this.addRawChar(cp);
  }

  addRawChar(cp: number): void {
    this.current += String.fromCodePoint(cp);
    this.inWord = true;
  }

  /** Text whose spaces split words (the result of a `$` expansion). */
  addSplittable(text: string): void {
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      this.addChar(cp);
      i += cp > 0xffff ? 2 : 1;
    }
  }

  /** Text kept whole (the content of quotes). An empty quoted string alone does not make a word. */
  addRaw(text: string): void {
    this.current += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.current.length > 0) {
      this.words.push(this.current);
      this.current = "";
      this.inWord = false;
    }
    return this.words;
  }
}

export class ShellWordLexer {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private pos = 0;
  private rawEscapes: boolean;

  constructor(
    private readonly source: string,
    private readonly lookup: VarLookup,
    private readonly escapeToken: number,
    private readonly modes: LexerModes,
  ) {
    this.rawEscapes = modes.rawEscapes;
    // Go's text/scanner skips a byte order mark at the start of its input.
    if (source.charCodeAt(0) === BOM) this.pos = 1;
  }

  /** Processes the whole word; `splitter` (if given) receives what ProcessWords needs. */
  processAll(splitter?: WordSplitter): string {
    return this.processUntil(EOF, this.modes.rawEscapes, splitter);
  }

  private peek(): number {
    return this.pos < this.source.length ? this.source.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    const cp = this.peek();
    if (cp !== EOF) this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  /** Reads up to (and consumes) `stop`, or to the end when `stop` is EOF; a missing stop is an error. */
  private processUntil(stop: number, rawEscapes: boolean, splitter?: WordSplitter): string {
    const savedRawEscapes = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = "";
      while (this.peek() !== EOF) {
        const ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return result;
        }
        if (ch === DOLLAR) {
          const value = this.processDollar();
          result += value;
          splitter?.addSplittable(value);
          continue;
        }
        if ((ch === SINGLE_QUOTE || ch === DOUBLE_QUOTE) && !this.modes.skipProcessQuotes) {
          const value = ch === SINGLE_QUOTE ? this.processSingleQuote() : this.processDoubleQuote();
          result += value;
          splitter?.addRaw(value);
          continue;
        }
        let cp = this.next();
        if (cp === this.escapeToken) {
          if (this.rawEscapes) {
            splitter?.addRawChar(cp);
            result += String.fromCodePoint(cp);
          }
          cp = this.next();
          if (cp === EOF) break; // an escape at the very end is dropped
          splitter?.addRawChar(cp);
        } else splitter?.addChar(cp);
        result += String.fromCodePoint(cp);
      }
      if (stop !== EOF) {
        throw new ExpansionError(
          `unexpected end of statement while looking for matching ${String.fromCodePoint(stop)}`,
          { offset: this.pos },
        );
      }
      return result;
    } finally {
      this.rawEscapes = savedRawEscapes;
    }
  }

  /** Everything up to the next `'` is literal; there is no escape inside single quotes. */
  private processSingleQuote(): string {
    const start = this.pos;
    this.next();
    let result = this.modes.rawQuotes ? "'" : "";
    for (;;) {
      const cp = this.next();
      if (cp === EOF) {
        throw new ExpansionError("unexpected end of statement while looking for matching single-quote", {
          offset: start,
          hint: "close the single quote",
        });
      }
      if (cp === SINGLE_QUOTE) return this.modes.rawQuotes ? `${result}'` : result;
      result += String.fromCodePoint(cp);
    }
  }

  /** `$` expands inside double quotes; the escape char escapes only `"`, `$` and itself. */
  private processDoubleQuote(): string {
    const start = this.pos;
    this.next();
    let result = this.modes.rawQuotes ? '"' : "";
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) {
        throw new ExpansionError("unexpected end of statement while looking for matching double-quote", {
          offset: start,
          hint: "close the double quote",
        });
      }
      if (ch === DOUBLE_QUOTE) {
        this.next();
        return this.modes.rawQuotes ? `${result}"` : result;
      }
      if (ch === DOLLAR) {
        result += this.processDollar();
        continue;
      }
      let cp = this.next();
      if (cp === this.escapeToken) {
        if (this.rawEscapes) result += String.fromCodePoint(cp);
        const following = this.peek();
        if (following === EOF) continue; // dropped; the loop then reports the missing quote
        if (following === DOUBLE_QUOTE || following === DOLLAR || following === this.escapeToken) {
          cp = this.next();
        }
      }
      result += String.fromCodePoint(cp);
    }
  }

  private getEnv(name: string): string | undefined {
    const value = this.lookup(name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }

  private fail(message: string, offset: number, hint: string = SYNTAX_HINT): never {
    throw new ExpansionError(message, { offset, hint });
  }

  /** Reads a modifier's word up to `stop`; running off the end becomes `missingMessage`. */
  private readModifierWord(
    stop: number,
    rawEscapes: boolean,
    dollarAt: number,
    missingMessage: string,
  ): string {
    try {
      return this.processUntil(stop, rawEscapes);
    } catch (err) {
      if (err instanceof ExpansionError && this.peek() === EOF) this.fail(missingMessage, dollarAt);
      throw err;
    }
  }

  private processDollar(): string {
    const dollarAt = this.pos;
    this.next();
    if (this.peek() !== OPEN_BRACE) {
      const name = this.processName();
      if (name === "") return "$";
      return this.getEnv(name) ?? (this.modes.skipUnsetEnv ? `$${name}` : "");
    }
    this.next();
    const first = this.peek();
    if (first === EOF) this.fail("syntax error: missing '}'", dollarAt);
    if (first === OPEN_BRACE || first === CLOSE_BRACE || first === COLON) {
      this.fail("syntax error: bad substitution", dollarAt);
    }
    const name = this.processName();
    let op = this.next();
    if (op === CLOSE_BRACE) return this.getEnv(name) ?? (this.modes.skipUnsetEnv ? `\${${name}}` : "");
    // BuildKit reports `${name` as "unsupported modifier (\uFFFD)"; a missing brace says more.
    if (op === EOF) this.fail("syntax error: missing '}'", dollarAt);
    if (op === SLASH) return this.processReplacement(name, dollarAt);

    let opText = String.fromCodePoint(op);
    let nullIsUnset = false;
    if (op === COLON) {
      nullIsUnset = true;
      op = this.next();
      if (op !== EOF) opText += String.fromCodePoint(op);
    } else if (!"+-?#%".includes(opText)) {
      this.fail(`unsupported modifier (${opText}) in substitution`, dollarAt);
    }
    const isPatternOp = op === 0x23 || op === 0x25;
    if (nullIsUnset && isPatternOp) this.fail(`unsupported modifier (${opText}) in substitution`, dollarAt);
    let word = this.readModifierWord(CLOSE_BRACE, isPatternOp, dollarAt, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.modes.skipUnsetEnv) return `\${${name}${opText}${word}}`;
    const unsetOrNull = value === undefined || (nullIsUnset && value === "");
    switch (op) {
      case 0x2d: // -
        return unsetOrNull ? word : value!;
      case 0x2b: // +
        return unsetOrNull ? "" : word;
      case 0x3f: // ?
        if (value === undefined) {
          this.fail(
            `${name}: ${word === "" ? "is not allowed to be unset" : word}`,
            dollarAt,
            requiredHint(name),
          );
        }
        if (nullIsUnset && value === "") {
          this.fail(
            `${name}: ${word === "" ? "is not allowed to be empty" : word}`,
            dollarAt,
            requiredHint(name),
          );
        }
        return value;
      case 0x23: // #
      case 0x25: {
        // %
        const longest = word.codePointAt(0) === op;
        if (longest) word = word.slice(1);
        return this.withPattern(word, dollarAt, () =>
          op === 0x23
            ? trimPatternPrefix(word, value ?? "", longest)
            : trimPatternSuffix(word, value ?? "", longest),
        );
      }
      default:
        return this.fail(`unsupported modifier (${opText}) in substitution`, dollarAt);
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`; escapes stay raw in both parts. */
  private processReplacement(name: string, dollarAt: number): string {
    const all = this.peek() === SLASH;
    if (all) this.next();
    const pattern = this.readModifierWord(SLASH, true, dollarAt, MISSING_SLASH);
    const replacement = this.readModifierWord(CLOSE_BRACE, true, dollarAt, "syntax error: missing '}'");
    const found = this.getEnv(name);
    // BuildKit writes a single `/` here even for the replace-all form.
    if (found === undefined && this.modes.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
    const value = found ?? "";
    return this.withPattern(pattern, dollarAt, () => replacePattern(pattern, value, replacement, all));
  }

  private withPattern(pattern: string, dollarAt: number, run: () => string): string {
    try {
      return run();
    } catch (err) {
      if (err instanceof PatternSyntaxError) {
        this.fail(
          `invalid pattern (${pattern}) in substitution: ${err.message}`,
          dollarAt,
          "in patterns only \\*, \\?, \\\\, \\} and \\/ may be escaped",
        );
      }
      throw err;
    }
  }

  /** A name: a run of letters, digits and `_`; or a digit run; or one special parameter character. */
  private processName(): string {
    const start = this.pos;
    const first = this.peek();
    if (first === EOF) return "";
    if (isDigit(first)) {
      while (this.peek() !== EOF && isDigit(this.peek())) this.next();
      return this.source.slice(start, this.pos);
    }
    if (isSpecialParameter(first)) {
      this.next();
      return String.fromCodePoint(first);
    }
    while (this.peek() !== EOF && isNameChar(this.peek())) this.next();
    return this.source.slice(start, this.pos);
  }
}

/** POSIX special parameters: `$@ $* $# $? $- $$ $! $0`. */
function isSpecialParameter(cp: number): boolean {
  return "@*#?-$!0".includes(String.fromCodePoint(cp));
}

function requiredHint(name: string): string {
  return `set ${name} with ARG or ENV, or pass --build-arg ${name}=…`;
}
