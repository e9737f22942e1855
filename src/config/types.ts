/**
 * The `Config` type, for modules that need only the type. It is derived from the settings table
 * in settings.ts, which documents every field.
 */
export type { Config } from "./settings.ts";
