/**
 * A data format's field reference (scenarios, targets), generated from its schema itself (its
 * JSON Schema, with every field's description), so the documentation cannot drift from what
 * is checked. Each format's README holds a copy; a test keeps each copy current.
 *
 * The type column is written for people: a schema may name its type with `.meta({ label })`
 * where the generic wording would not read well, and its default with `.meta({ fallback })`.
 */
import { z } from "zod";

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
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  label?: string;
  fallback?: string;
}

/** "a, b or c" */
function joinOr(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? "") : `${parts.slice(0, -1).join(", ")} or ${parts[parts.length - 1]}`;
}

const code = (value: unknown) => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;

/** The tag of a union of objects told apart by a constant field (kind, action, check). */
function tagOf(alternatives: Node[] | undefined): string | undefined {
  const first = alternatives?.[0]?.properties;
  if (!first) return undefined;
  const [tag] = Object.entries(first).find(([, p]) => p.const !== undefined) ?? [];
  return tag && alternatives!.every((alt) => alt.properties?.[tag]?.const !== undefined) ? tag : undefined;
}

/** The choices of a union, each as a word: enums spread into their values. */
function choices(node: Node): string[] {
  if (node.label) return [node.label];
  if (node.enum) return node.enum.map(code);
  if (node.const !== undefined) return [code(node.const)];
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives) return alternatives.flatMap(choices);
  if (node.type === "object" && node.properties) return [`{ ${Object.keys(node.properties).join(", ")} }`];
  return [typeOf(node)];
}

function numberType(node: Node): string {
  const word = node.type === "integer" ? "integer" : "number";
  const low = node.exclusiveMinimum !== undefined ? (node.type === "integer" ? `≥ ${node.exclusiveMinimum + 1}` : `> ${node.exclusiveMinimum}`) : node.minimum !== undefined ? `≥ ${node.minimum}` : "";
  const high = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
  if (node.minimum !== undefined && high !== undefined) return `${word}, ${node.minimum} to ${high}`;
  if (low && high !== undefined) return `${word} ${low}, at most ${high}`;
  return low ? `${word} ${low}` : word;
}

function typeOf(node: Node): string {
  if (node.label) return node.label;
  if (node.const !== undefined) return code(node.const);
  if (node.enum) return joinOr(node.enum.map(code));
  const alternatives = node.anyOf ?? node.oneOf;
  if (alternatives) {
    // X, or a list of X
    const [single, list] = alternatives;
    if (alternatives.length === 2 && list.type === "array" && JSON.stringify(list.items) === JSON.stringify(single)) return `${typeOf(single)}, or a list of them`;
    return joinOr(alternatives.flatMap(choices));
  }
  switch (node.type) {
    case "array": {
      if (node.prefixItems) return `[${node.prefixItems.map(typeOf).join(", ")}]`;
      const items = node.items;
      if (!items || Object.keys(items).length === 0) return "list";
      const tag = tagOf(items.anyOf ?? items.oneOf);
      if (tag) return `list, each by its \`${tag}\``;
      if (items.type === "object") return "list of objects";
      if (items.type === "array") return `list of ${typeOf(items).replace(/^list\b/, "lists")}`;
      return `list of ${typeOf(items)}`;
    }
    case "integer":
    case "number":
      return numberType(node);
    case "string":
      return "text";
    case "boolean":
      return "true or false";
    case "object":
      return "object";
    case undefined:
      return "any value";
    default:
      return Array.isArray(node.type) ? joinOr(node.type) : node.type;
  }
}

/** A default as the YAML would write it. */
function yamlish(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yamlish).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([key, v]) => `${key}: ${yamlish(v)}`).join(", ")} }`;
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

function row(node: Node, path: string, required: boolean, out: string[]): void {
  const fallback = node.fallback ?? (node.default === undefined || yamlish(node.default) === "{}" ? (required ? "required" : "optional") : `\`${yamlish(node.default)}\``);
  out.push(`| \`${path}\` | ${typeOf(node).replace(/\|/g, "\\|")} | ${fallback} | ${(node.description ?? "").replace(/\|/g, "\\|")} |`);
}

function rows(node: Node, path: string, required: boolean, out: string[]): void {
  if (path) row(node, path, required, out);
  for (const [key, child] of Object.entries(node.properties ?? {})) rows(child, path ? `${path}.${key}` : key, node.required?.includes(key) ?? false, out);
  const list = node.type === "array" ? node.items : undefined;
  if (list) expand(list, `${path}[]`, out);
  if (path && tagOf(node.oneOf ?? node.anyOf)) expand(node, path, out);
  else for (const alt of node.anyOf ?? []) if (alt.properties) expand(alt, path, out);
}

/** An object, or a union of objects (told apart by a constant field, such as kind, action or check, or by their fields). */
function expand(node: Node, path: string, out: string[]): void {
  const alternatives = node.oneOf ?? node.anyOf;
  const tag = tagOf(alternatives);
  if (tag) {
    for (const variant of alternatives!) {
      const label = `${path} (${tag}: ${String(variant.properties![tag].const)})`;
      if (variant.description) out.push(`| \`${label}\` | | | ${variant.description.replace(/\|/g, "\\|")} |`);
      for (const [key, child] of Object.entries(variant.properties ?? {})) {
        if (key !== tag) rows(child, `${label}.${key}`, variant.required?.includes(key) ?? false, out);
      }
    }
    return;
  }
  for (const alt of alternatives ?? []) if (alt.properties) expand(alt, path, out);
  for (const [key, child] of Object.entries(node.properties ?? {})) rows(child, `${path}.${key}`, node.required?.includes(key) ?? false, out);
}

/** The table of every field of a schema: its path, type, default and meaning. */
export function fieldReference(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Node;
  const out = ["| field | type | default | meaning |", "|---|---|---|---|"];
  rows(json, "", true, out);
  return out.join("\n");
}
