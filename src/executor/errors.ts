/** Errors the executor raises: a failed build step (with the command, exit code and output tail) and cancellation. */
import { GantryError, type SourceLocation } from "../errors.js";
import type { Step } from "../graph/types.js";

/** A RUN exited non-zero. */
export class BuildStepError extends GantryError {
  readonly exitCode: number;
  readonly tail: string[];
  readonly stepName: string;

  constructor(step: Step, exitCode: number, tail: string[], location?: SourceLocation) {
    const command = step.op.kind === "exec" ? step.op.args.join(" ") : step.name;
    const output = tail.length > 0 ? `\n${tail.map((line) => `  | ${line}`).join("\n")}` : "";
    super(
      "BUILD_STEP_FAILED",
      `${step.name}: process "${command}" did not complete successfully: exit code ${exitCode}${output}`,
      {
        location,
        hint: "the command's last output lines are above; fix the command or its inputs and build again (the steps before it stay cached)",
      },
    );
    this.exitCode = exitCode;
    this.tail = tail;
    this.stepName = step.name;
  }
}

/** The build was canceled (another step failed, or the user interrupted it). */
export class BuildCanceledError extends GantryError {
  constructor(message = "canceled") {
    super("BUILD_CANCELED", message);
  }
}
