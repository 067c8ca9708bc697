/**
 * The Dockerfile structure parser (chevrotain CstParser over line tokens):
 *
 *   dockerfile   = [Bom] {Directive} {Trivia | instruction}
 *   instruction  = (Final | Continued {ContinuationPiece} [Final]) heredocBody
 *   heredocBody  = {AnyLine}      -- as many lines as the instruction's heredocs consume
 *
 * Trivia = Comment | Blank and ContinuationPiece = Comment | Blank | Continued are token categories.
 *
 * How many lines a heredoc body takes depends on the instruction's text, so the parser asks a hook
 * (`HeredocOracle`) after each logical line; the hook sees the line tokens and can look ahead.
 * No CST is built (an EmbeddedActionsParser): the oracle receives each instruction's physical line tokens in
 * order, which is all the frontend needs, and a file-sized tree of tokens would only feed the GC.
 */
import { EmbeddedActionsParser, EOF, type IToken } from "chevrotain";
import { AnyLine, Bom, ContinuationPiece, Continued, Directive, Final, lineTokens, Trivia } from "./lines.js";

/** Called after each logical line: returns how many following line tokens heredoc bodies consume. */
export type HeredocOracle = (lines: IToken[], lookahead: (k: number) => IToken | undefined) => number;

// Labels name the parts in the railroad diagram (constants: no options object per consumed token).
const LINE = { LABEL: "line" };
const BODY = { LABEL: "body" };
const TRIVIA = { LABEL: "trivia" };

export class DockerfileParser extends EmbeddedActionsParser {
  oracle: HeredocOracle = () => 0;
  /** The physical lines of the instruction being parsed (reused: the oracle must not keep it). */
  private readonly lines: IToken[] = [];
  private bodyLines = 0;
  private readonly lookahead = (k: number): IToken | undefined => {
    const t = this.LA(k);
    return t.tokenType === EOF ? undefined : t;
  };
  // Alternatives and gates are built once (chevrotain's "OR caching"), not per instruction.
  private readonly topAlts = [
    { ALT: () => this.CONSUME(Trivia, TRIVIA) },
    { ALT: () => this.SUBRULE(this.instruction) },
  ];
  private readonly lineAlts = [
    { ALT: () => this.lines.push(this.CONSUME(Final, LINE)) },
    {
      ALT: () => {
        this.lines.push(this.CONSUME(Continued, LINE));
        this.MANY(this.continuationPiece);
        this.OPTION(this.finalPiece);
      },
    },
  ];
  private readonly continuationPiece = () => this.lines.push(this.CONSUME(ContinuationPiece, LINE));
  private readonly finalPiece = () => this.lines.push(this.CONSUME2(Final, LINE));
  private readonly askOracle = () => {
    this.bodyLines = this.oracle(this.lines, this.lookahead);
  };
  private readonly body = {
    GATE: () => this.bodyLines > 0,
    DEF: () => {
      this.CONSUME(AnyLine, BODY);
      this.bodyLines--;
    },
  };

  constructor() {
    super([...lineTokens], { recoveryEnabled: false, maxLookahead: 1 });
    this.performSelfAnalysis();
  }

  dockerfile = this.RULE("dockerfile", () => {
    this.OPTION(() => this.CONSUME(Bom));
    this.MANY(() => this.CONSUME(Directive));
    this.MANY2(() => this.OR(this.topAlts));
  });

  instruction = this.RULE("instruction", () => {
    this.lines.length = 0;
    this.OR(this.lineAlts);
    this.ACTION(this.askOracle);
    // Same grammar either way; skipping a MANY whose gate is false saves its per-call closures.
    if (this.bodyLines > 0 || this.RECORDING_PHASE) this.MANY3(this.body);
  });

  /** Parses a token vector; throws on a recognition error (which the line grammar cannot produce). */
  parseTokens(tokens: IToken[], oracle: HeredocOracle): void {
    this.oracle = oracle;
    this.input = tokens;
    this.dockerfile();
    const error = this.errors[0];
    this.input = []; // drop the tokens (and resets the errors)
    if (error) throw new Error(`internal: line grammar rejected input: ${error.message}`);
  }
}

let shared: DockerfileParser | undefined;

/** The parser instance (created once: self-analysis is the expensive part). */
export function dockerfileParser(): DockerfileParser {
  shared ??= new DockerfileParser();
  return shared;
}
