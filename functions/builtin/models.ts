/** GET /v1/models and GET /mistral/v1/models: the one model this gateway's runtime serves (plus operator aliases),
 * in each dialect's list shape. Mistral's SDK needs `type: "base"` and a capabilities object. */
import type { Handler } from "hono";
import type { ModelInfo } from "../sdk/binding.ts";
import type { GatewayEnv } from "../http/env.ts";
import { bodyInMemory } from "../http/lifecycle.ts";
import { servedNames } from "../chat/plan.ts";

export interface ModelsOptions {
  aliases: readonly string[];
  /** Seconds since the epoch shown as `created` (when the gateway started). */
  created: number;
  ownedBy?: string;
}

const names = servedNames;

export function openAIModels(opts: ModelsOptions): Handler<GatewayEnv> {
  return (c) => {
    c.set("routeLabel", "/v1/models");
    const info = c.get("binding").info;
    return bodyInMemory(c.json({
      object: "list",
      data: names(info, opts.aliases).map((id) => ({
        id,
        object: "model",
        created: opts.created,
        owned_by: opts.ownedBy ?? "gust",
        root: info.id,
        max_model_len: info.contextLength,
      })),
    }));
  };
}

export function mistralModels(opts: ModelsOptions): Handler<GatewayEnv> {
  return (c) => {
    c.set("routeLabel", "/mistral/v1/models");
    const info = c.get("binding").info;
    const reasoning = info.tokenizer.modelSettings?.reasoningEffort?.values.includes("high") ?? false;
    return bodyInMemory(c.json({
      object: "list",
      data: names(info, opts.aliases).map((id) => ({
        id,
        object: "model",
        created: opts.created,
        owned_by: opts.ownedBy ?? "gust",
        capabilities: {
          completion_chat: true,
          function_calling: true,
          reasoning,
          vision: info.hasVision,
          completion_fim: false,
          fine_tuning: false,
        },
        name: id,
        max_context_length: info.contextLength,
        aliases: names(info, opts.aliases).filter((n) => n !== id),
        type: "base",
      })),
    }));
  };
}
