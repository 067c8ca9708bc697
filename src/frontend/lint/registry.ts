/** Every lint rule Gantry knows, in the order findings of equal position are listed. */
import {
  consistentInstructionCasing,
  legacyKeyValueFormat,
  maintainerDeprecated,
  noEmptyContinuation,
} from "./rules-casing.js";
import {
  jsonArgsRecommended,
  multipleInstructionsDisallowed,
  workdirRelativePath,
} from "./rules-commands.js";
import {
  copyIgnoredFile,
  exposeInvalidFormat,
  exposeProtoCasing,
  invalidDefinitionDescription,
} from "./rules-files.js";
import {
  fromPlatformFlagConstDisallowed,
  invalidDefaultArgInFrom,
  redundantTargetPlatform,
  undefinedArgInFrom,
} from "./rules-from.js";
import {
  duplicateStageName,
  fromAsCasing,
  reservedStageName,
  stageNameCasing,
  unknownStageName,
} from "./rules-stages.js";
import { secretsUsedInArgOrEnv, undefinedVar } from "./rules-vars.js";
import type { LintRule } from "./types.js";

export const LINT_RULES: readonly LintRule[] = [
  stageNameCasing,
  fromAsCasing,
  noEmptyContinuation,
  consistentInstructionCasing,
  duplicateStageName,
  reservedStageName,
  jsonArgsRecommended,
  maintainerDeprecated,
  undefinedArgInFrom,
  workdirRelativePath,
  undefinedVar,
  multipleInstructionsDisallowed,
  legacyKeyValueFormat,
  redundantTargetPlatform,
  secretsUsedInArgOrEnv,
  invalidDefaultArgInFrom,
  fromPlatformFlagConstDisallowed,
  copyIgnoredFile,
  invalidDefinitionDescription,
  exposeProtoCasing,
  exposeInvalidFormat,
  unknownStageName,
];

export function findRule(name: string): LintRule | undefined {
  return LINT_RULES.find((r) => r.name === name);
}
