/** The registry's single import point for repository-name and tag validation (owned by src/image). */
export { validateRepositoryName, validateTag } from "../image/names.js";
