/**
 * The OpenAPI document (GET /openapi.json, and the page at /docs): @fastify/swagger makes it
 * from the routes' own schemas (schemas.ts) as the plugins add them, so it cannot drift from
 * what fastify validates and serializes. Registered before every route plugin: it sees only
 * the routes added after it.
 *
 * Left out: the dashboard (a page and its files for a browser, not operations) and the docs'
 * own routes; both say `schema.hide`. /healthz, /cluster and /metrics are in, tagged
 * "operations": they are faaslab's, not the MPCSFaaS contract, but clients call them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import type { FastifySchema } from "fastify";
import { packageRoot } from "../paths.js";
import { documentedResponses } from "./schemas.js";

const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { name: string; version: string };

/** The security scheme's name in the document. */
export const BEARER_SCHEME = "bearer";

export interface OpenApiSettings {
  /** The API requires `Authorization: Bearer <token>`: every operation but /healthz says so. */
  tokenRequired: boolean;
}

export function openApiOptions({ tokenRequired }: OpenApiSettings): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: pkg.name,
        version: pkg.version,
        description:
          "faaslab's REST API: register a JavaScript function, run it with arguments, read its result. Compatible with the MPCSFaaS course project's API. " +
          "Functions and arguments travel as strings made by faaslab's codec (the SDK's serialize). Every error is `{\"error\", \"code\"}`.",
      },
      tags: [
        { name: "functions", description: "Registering functions." },
        { name: "tasks", description: "Submitting tasks and reading their state." },
        { name: "results", description: "Reading tasks' outcomes, optionally waiting for them." },
        { name: "operations", description: "Health, metrics and the cluster's status: faaslab's own, not the MPCSFaaS contract." },
      ],
      components: tokenRequired
        ? { securitySchemes: { [BEARER_SCHEME]: { type: "http", scheme: "bearer", description: "The API's token, as given to `faas api --api-token`." } } }
        : {},
      // Each operation may say otherwise: /healthz has `security: []`.
      ...(tokenRequired ? { security: [{ [BEARER_SCHEME]: [] }] } : {}),
    },
    // What a route without a response schema answers, for the document only (schemas.ts).
    transform: ({ schema, url }) => {
      const documented = schema?.operationId === undefined ? undefined : documentedResponses[schema.operationId];
      return { schema: documented ? ({ ...schema, ...documented } as FastifySchema) : schema, url };
    },
  };
}
