/** The Dockerfile grammar: line tokens, the structure parser, and the instruction-level scanners. */
export { type ArgWord, GrammarFault } from "./args.js";
export { skipS, trimNLEnd } from "./chars.js";
export { contentStart, type DirectiveMatch, matchDirective, scanEscape } from "./directives.js";
export type { HeredocMarker } from "./heredoc.js";
export type { FlagWord, Span } from "./instruction.js";
export {
  AnyLine,
  Blank,
  Bom,
  Comment,
  ContinuationPiece,
  Continued,
  Directive,
  Final,
  Trivia,
  tokenizeLines,
} from "./lines.js";
export { joinLogicalLine, LogicalLine } from "./logical.js";
export { DockerfileParser, dockerfileParser, type HeredocOracle } from "./parser.js";
export { heredocsOf, type InstructionShape, shapeInstruction } from "./shape.js";
