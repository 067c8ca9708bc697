/**
 * Validation of repository names and tags (distribution-spec v1.1 grammar). Validated names are safe to
 * use as relative paths under the data root: their components cannot be empty, `.`, `..`, absolute, or
 * start with `_` or `.` (so they never collide with the store's own `_manifests`/`_layers` directories).
 */
import { NameInvalidError, TagInvalidError } from "./errors.js";

/** One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`. */
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
export const REPOSITORY_NAME_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MAX_REPOSITORY_NAME_LENGTH = 255;

/** Throws NameInvalidError unless `name` is a valid repository name; returns it. */
export function validateRepositoryName(name: string): string {
  if (typeof name !== "string" || name.length === 0) throw new NameInvalidError(String(name), "empty name");
  if (name.length > MAX_REPOSITORY_NAME_LENGTH) {
    throw new NameInvalidError(name, `longer than ${MAX_REPOSITORY_NAME_LENGTH} characters`);
  }
  if (!REPOSITORY_NAME_PATTERN.test(name)) {
    throw new NameInvalidError(
      name,
      "must be lowercase alphanumeric components separated by '/', each joined by '.', '_', '__' or '-'",
    );
  }
  return name;
}

export function isValidRepositoryName(name: string): boolean {
  return (
    typeof name === "string" &&
    name.length <= MAX_REPOSITORY_NAME_LENGTH &&
    REPOSITORY_NAME_PATTERN.test(name)
  );
}

/** Throws TagInvalidError unless `tag` matches `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`; returns it. */
export function validateTag(tag: string): string {
  if (typeof tag !== "string" || !TAG_PATTERN.test(tag)) {
    throw new TagInvalidError(String(tag), "must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  }
  return tag;
}

export function isValidTag(tag: string): boolean {
  return typeof tag === "string" && TAG_PATTERN.test(tag);
}
