/**
 * Interactive prompts on the terminal (what `gantry login` asks when stdin is a TTY): the terminal is put
 * in raw mode for the whole session, so a secret is never echoed and keys typed ahead of the next prompt are
 * kept. Owns line editing (Backspace, Ctrl-U, Enter/Ctrl-D to finish, escape sequences ignored), Ctrl-C as
 * `PromptAbortedError`, and restoring the terminal mode on every way out.
 */
import { StringDecoder } from "node:string_decoder";
import { GantryError } from "../errors.js";

/** The user pressed Ctrl-C at a prompt. The caller exits with 130, as a shell does after SIGINT. */
export class PromptAbortedError extends GantryError {
  constructor() {
    super("ABORTED", "interrupted");
  }
}

/** Exit code after Ctrl-C (128 + SIGINT). */
export const ABORTED_EXIT_CODE = 130;

/** The terminal side of a prompt session: a TTY to read keys from and a stream to write prompts to. */
export interface TerminalIO {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
}

export interface Prompter {
  /** Writes `question`, reads one line; `echo: false` shows nothing of what is typed. */
  ask(question: string, options: { echo: boolean }): Promise<string>;
}

/** Whether prompts can be shown: stdin is a terminal that can be put in raw mode. */
export function isTerminal(input: NodeJS.ReadStream = process.stdin): boolean {
  return input.isTTY === true && typeof input.setRawMode === "function";
}

// An escape sequence (CSI like the arrow keys' `ESC [ A`, SS3 like `ESC O P`, or ESC + one character).
const ESCAPE_SEQUENCE = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|O[\s\S]|[\s\S])?/;

interface Pending {
  echo: boolean;
  chars: string[];
  resolve(line: string): void;
  reject(error: Error): void;
}

/**
 * Runs `session` with the terminal in raw mode and gives it a `Prompter`; restores the previous mode and
 * stops reading stdin when the session ends, whether it returns or throws.
 */
export async function withPrompter<T>(
  session: (prompter: Prompter) => Promise<T>,
  io: TerminalIO = { input: process.stdin, output: process.stderr },
): Promise<T> {
  const { input, output } = io;
  const wasRaw = input.isRaw;
  const decoder = new StringDecoder("utf8");
  let buffered = ""; // decoded keys not consumed yet (typed ahead of the next prompt)
  let ended = false;
  let current: Pending | undefined;

  const finish = (error?: Error): void => {
    const pending = current;
    if (!pending) return;
    current = undefined;
    output.write(error ? "^C\n" : "\n");
    if (error) pending.reject(error);
    else pending.resolve(pending.chars.join(""));
  };

  const erase = (pending: Pending, count: number): void => {
    const removed = pending.chars.splice(pending.chars.length - count, count);
    if (pending.echo && removed.length > 0) output.write("\b \b".repeat(removed.length));
  };

  const pump = (): void => {
    while (current && buffered.length > 0) {
      const pending = current;
      if (buffered.startsWith("\x1b")) {
        const match = ESCAPE_SEQUENCE.exec(buffered)!;
        buffered = buffered.slice(match[0].length);
        continue;
      }
      const codePoint = buffered.codePointAt(0)!;
      const key = String.fromCodePoint(codePoint);
      buffered = buffered.slice(key.length);
      switch (key) {
        case "\r":
        case "\n":
        case "\x04": // Ctrl-D
          finish();
          break;
        case "\x03": // Ctrl-C
          finish(new PromptAbortedError());
          break;
        case "\x7f": // Backspace (DEL) and Ctrl-H
        case "\b":
          erase(pending, 1);
          break;
        case "\x15": // Ctrl-U: the whole line
          erase(pending, pending.chars.length);
          break;
        default:
          if (codePoint < 0x20) break; // other control keys do nothing
          pending.chars.push(key);
          if (pending.echo) output.write(key);
      }
    }
    if (current && ended) finish(); // end of input finishes the line, like Ctrl-D
  };

  const onData = (chunk: Buffer | string): void => {
    buffered += typeof chunk === "string" ? chunk : decoder.write(chunk);
    pump();
  };
  const onEnd = (): void => {
    ended = true;
    buffered += decoder.end();
    pump();
  };

  input.setRawMode(true);
  input.on("data", onData);
  input.once("end", onEnd);
  input.resume();
  try {
    return await session({
      ask(question, { echo }) {
        return new Promise<string>((resolve, reject) => {
          current = { echo, chars: [], resolve, reject };
          output.write(question);
          pump();
        });
      },
    });
  } finally {
    current = undefined;
    input.off("data", onData);
    input.off("end", onEnd);
    input.pause();
    input.setRawMode(wasRaw);
  }
}
