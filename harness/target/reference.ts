/**
 * The target format's field reference, generated from the schema (see ../format/reference.ts),
 * with the table of placeholders and which component is given each. targets/README.md holds
 * a copy; a test keeps the copy current. `npm run target-schema` prints it.
 */
import { pathToFileURL } from "node:url";
import { fieldReference } from "../format/reference.js";
import { DURATION_NOTE } from "../format/schema.js";
import { COMPONENT_PLACEHOLDERS, PLACEHOLDER_NAMES, PLACEHOLDERS, TargetSchema, type ComponentKey } from "./schema.js";

export function targetReference(): string {
  const components = Object.keys(COMPONENT_PLACEHOLDERS) as ComponentKey[];
  const placeholders = [
    `| placeholder | stands for | given to |`,
    "|---|---|---|",
    ...PLACEHOLDER_NAMES.map((name) => {
      const given = components.filter((key) => COMPONENT_PLACEHOLDERS[key].includes(name));
      return `| \`{${name}}\` | ${PLACEHOLDERS[name]} | ${given.length === components.length ? "every component" : given.join(", ")} |`;
    }),
  ];
  return `${fieldReference(TargetSchema)}\n\n${DURATION_NOTE}\n\n${placeholders.join("\n")}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.stdout.write(targetReference());
