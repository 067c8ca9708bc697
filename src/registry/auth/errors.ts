/**
 * Errors raised while reading the registry's access-control configuration (htpasswd files, ACL files,
 * token signing keys). They carry a `file:line` location where there is one, so the CLI points at it.
 */
import { GantryError, type GantryErrorOptions } from "../../errors.js";

/** An htpasswd file, ACL file or token key cannot be used as given. */
export class AuthConfigError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("AUTH_CONFIG", message, options);
  }
}
