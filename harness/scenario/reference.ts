/**
 * The scenario format's field reference, generated from the schema (see ../format/reference.ts).
 * scenarios/README.md holds a copy; a test keeps the copy current.
 */
import { DURATION_NOTE } from "../format/schema.js";
import { fieldReference } from "../format/reference.js";
import { ScenarioSchema } from "./schema.js";

export function schemaReference(): string {
  return `${fieldReference(ScenarioSchema)}\n\n${DURATION_NOTE}\n`;
}
