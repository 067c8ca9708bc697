/**
 * Heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`): the logical line is split into shell words
 * (escape always `\`, quotes and escapes kept raw, `$…` kept verbatim); each word of the form
 * `[0-9]*<<-?NAME` names a heredoc whose delimiter is NAME with quotes removed and escapes applied.
 * A lexing error in the line means "no heredocs"; a lexing error in a NAME is fatal.
 */
import { isS } from "./chars.js";

export interface HeredocMarker {
  name: string;
  fileDescriptor: number;
  chomp: boolean;
  expand: boolean;
}

class LexFault extends Error {}

const ESC = 0x5c;

/** Splits s into shell words; `raw` keeps quotes and escapes (RawQuotes + RawEscapes). */
export class ShellWords {
  private pos = 0;
  private words: string[] = [];
  private word = "";
  private inWord = false;

  constructor(
    private readonly s: string,
    private readonly raw: boolean,
  ) {}

  /** The words, or throws LexFault. */
  split(): string[] {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x24) this.addString(this.dollar());
      else if (c === 0x27) this.addRawString(this.singleQuote());
      else if (c === 0x22) this.addRawString(this.doubleQuote());
      else if (c === ESC) {
        this.pos++;
        if (this.raw) this.addRawChar("\\");
        if (this.pos >= s.length) break;
        this.addRawChar(this.nextRune());
      } else {
        const ch = this.nextRune();
        this.addChar(ch);
        // `<<` followed by blanks is glued to the next word (`<< EOF` is one word).
        if (ch === "<" && this.word.endsWith("<<")) {
          while (this.pos < s.length && /[ \t\r]/.test(s[this.pos]!)) this.addRawChar(s[this.pos++]!);
        }
      }
    }
    if (this.word.length > 0) this.words.push(this.word);
    return this.words;
  }

  private nextRune(): string {
    const cp = this.s.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(cp);
    this.pos += ch.length;
    return ch;
  }

  private addChar(ch: string): void {
    if (isS(ch.charCodeAt(0))) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else this.addRawChar(ch);
  }

  private addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  private addString(str: string): void {
    for (const ch of str) this.addChar(ch);
  }

  private addRawString(str: string): void {
    this.word += str;
    this.inWord = true;
  }

  private singleQuote(): string {
    const start = this.pos++;
    const end = this.s.indexOf("'", this.pos);
    if (end < 0) throw new LexFault("unexpected end of statement while looking for matching single-quote");
    this.pos = end + 1;
    return this.raw ? this.s.slice(start, end + 1) : this.s.slice(start + 1, end);
  }

  private doubleQuote(): string {
    const s = this.s;
    let out = this.raw ? '"' : "";
    this.pos++;
    for (;;) {
      if (this.pos >= s.length)
        throw new LexFault("unexpected end of statement while looking for matching double-quote");
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return this.raw ? `${out}"` : out;
      }
      if (c === 0x24) {
        out += this.dollar();
        continue;
      }
      this.pos++;
      if (c === ESC) {
        if (this.raw) out += "\\";
        if (this.pos >= s.length) continue;
        const n = s.charCodeAt(this.pos);
        if (n === 0x22 || n === 0x24 || n === ESC) {
          out += s[this.pos++];
          continue;
        }
        out += "\\";
        continue;
      }
      out += s[this.pos - 1];
    }
  }

  /** `$name`, `${…}`: validated and returned verbatim (no environment is applied). */
  private dollar(): string {
    const s = this.s;
    const start = this.pos++;
    if (s[this.pos] !== "{") {
      this.name();
      return s.slice(start, this.pos);
    }
    this.pos++;
    const c = s[this.pos];
    if (c === undefined) throw new LexFault("syntax error: missing '}'");
    if (c === "{" || c === "}" || c === ":") throw new LexFault("syntax error: bad substitution");
    this.name();
    let op = s[this.pos++];
    if (op === "}") return s.slice(start, this.pos);
    if (op === ":") {
      op = s[this.pos++];
      if (op !== "+" && op !== "-" && op !== "?")
        throw new LexFault(`unsupported modifier (:${op ?? ""}) in substitution`);
      this.until("}");
    } else if (op === "+" || op === "-" || op === "?" || op === "#" || op === "%") {
      this.until("}");
    } else if (op === "/") {
      if (s[this.pos] === "/") this.pos++;
      this.until("/");
      this.until("}");
    } else throw new LexFault(`unsupported modifier (${op ?? ""}) in substitution`);
    return s.slice(start, this.pos);
  }

  private name(): void {
    const s = this.s;
    const first = s[this.pos];
    if (first !== undefined && /[0-9]/.test(first)) {
      while (this.pos < s.length && /[0-9]/.test(s[this.pos]!)) this.pos++;
      return;
    }
    if (first !== undefined && "@*#?-$!0".includes(first)) {
      this.pos++;
      return;
    }
    while (this.pos < s.length && /[\p{L}\p{Nd}_]/u.test(String.fromCodePoint(s.codePointAt(this.pos)!))) {
      this.pos += s.codePointAt(this.pos)! > 0xffff ? 2 : 1;
    }
  }

  /** Skips a nested word up to (and past) `stop`, honouring quotes, escapes and nested `$`. */
  private until(stop: string): void {
    const s = this.s;
    for (;;) {
      const c = s[this.pos];
      if (c === undefined)
        throw new LexFault(
          stop === "}" ? "syntax error: missing '}'" : "syntax error: missing '/' in $" + "{}",
        );
      if (c === stop) {
        this.pos++;
        return;
      }
      if (c === "$") this.dollar();
      else if (c === "'") this.singleQuote();
      else if (c === '"') this.doubleQuote();
      else if (c === "\\") this.pos += 2;
      else this.pos++;
    }
  }
}

const HEREDOC_WORD = /^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

/** Error raised for a heredoc delimiter that cannot be lexed. */
export class HeredocNameError extends Error {}

/** Heredoc markers in a logical line (run/copy/add, not JSON form); [] when the line does not lex. */
export function heredocMarkers(line: string): HeredocMarker[] {
  if (!line.includes("<<")) return [];
  let words: string[];
  try {
    words = new ShellWords(line, true).split();
  } catch (e) {
    if (e instanceof LexFault) return [];
    throw e;
  }
  const out: HeredocMarker[] = [];
  for (const w of words) {
    const m = HEREDOC_WORD.exec(w);
    if (!m || m[3] === "") continue;
    let cooked: string[];
    let raw: string[];
    try {
      cooked = new ShellWords(m[3]!, false).split();
      raw = new ShellWords(m[3]!, true).split();
    } catch (e) {
      if (e instanceof LexFault) throw new HeredocNameError(`${e.message} in heredoc delimiter ${m[3]}`);
      throw e;
    }
    if (cooked.length !== 1 || raw.length !== 1) continue;
    const quotes = (x: string): number => x.split(/['"]/).length - 1;
    out.push({
      name: cooked[0]!,
      fileDescriptor: m[1] ? Number.parseInt(m[1], 10) : 0,
      chomp: m[2] === "-",
      expand: quotes(cooked[0]!) === quotes(raw[0]!),
    });
  }
  return out;
}
