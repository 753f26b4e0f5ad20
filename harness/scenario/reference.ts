/**
 * The scenario format's field reference, generated from the schema itself (its JSON Schema,
 * with every field's description), so the documentation cannot drift from what is checked.
 * scenarios/README.md holds a copy; a test keeps the copy current.
 */
import { z } from "zod";
import { ScenarioSchema } from "./schema.js";

interface Node {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: Node[];
  oneOf?: Node[];
  items?: Node;
  prefixItems?: Node[];
  properties?: Record<string, Node>;
  required?: string[];
  description?: string;
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

const DURATION = "^\\d+(\\.\\d+)?(ms|s|m)$";

function typeOf(node: Node): string {
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum) return node.enum.map((value) => JSON.stringify(value)).join(" \\| ");
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives) {
    if (alternatives.some((alt) => alt.pattern === DURATION)) return "duration";
    if (alternatives.some((alt) => alt.prefixItems)) return "integer or [min, max]";
    return alternatives.map(typeOf).join(" or ");
  }
  if (node.type === "array") return node.prefixItems ? `[${node.prefixItems.map(typeOf).join(", ")}]` : `list of ${node.items ? typeOf(node.items) : "values"}`;
  if (node.type === "integer" || node.type === "number") {
    const bounds = node.minimum !== undefined && node.maximum !== undefined && node.maximum < 1e9 ? ` ${node.minimum}–${node.maximum}` : node.minimum !== undefined && node.minimum > 0 ? ` ≥ ${node.minimum}` : "";
    return `${node.type}${bounds}`;
  }
  return Array.isArray(node.type) ? node.type.join(" or ") : (node.type ?? "any");
}

function rows(node: Node, path: string, required: boolean, out: string[]): void {
  if (path) {
    const fallback = node.default === undefined ? (required ? "required" : "optional") : `\`${JSON.stringify(node.default)}\``;
    out.push(`| \`${path}\` | ${typeOf(node)} | ${fallback} | ${(node.description ?? "").replace(/\|/g, "\\|")} |`);
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) rows(child, path ? `${path}.${key}` : key, node.required?.includes(key) ?? false, out);
  const list = node.type === "array" ? node.items : undefined;
  if (list) expand(list, `${path}[]`, out);
  for (const alt of node.anyOf ?? []) if (alt.properties) expand(alt, path, out);
}

/** An object, or a union of objects told apart by a constant field (kind, action, check). */
function expand(node: Node, path: string, out: string[]): void {
  if (node.oneOf || node.anyOf?.some((alt) => alt.properties && Object.values(alt.properties).some((p) => p.const !== undefined))) {
    for (const variant of node.oneOf ?? node.anyOf ?? []) {
      const [tag, value] = Object.entries(variant.properties ?? {}).find(([, p]) => p.const !== undefined) ?? [];
      const label = tag ? `${path} (${tag}: ${String(value?.const)})` : path;
      for (const [key, child] of Object.entries(variant.properties ?? {})) {
        if (key === tag) continue;
        rows(child, `${label}.${key}`, variant.required?.includes(key) ?? false, out);
      }
      if (tag && variant.description) out.push(`| \`${label}\` | | | ${variant.description} |`);
    }
    return;
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) rows(child, `${path}.${key}`, node.required?.includes(key) ?? false, out);
}

export function schemaReference(): string {
  const schema = z.toJSONSchema(ScenarioSchema, { io: "input", unrepresentable: "any" }) as Node;
  const out = ["| field | type | default | meaning |", "|---|---|---|---|"];
  rows(schema, "", true, out);
  return `${out.join("\n")}\n\nA duration is \`"500ms"\`, \`"10s"\`, \`"2m"\` or a number of milliseconds.\n`;
}
