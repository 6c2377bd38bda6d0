/**
 * Webhook deliveries (the outbox) for the panel and scripts: list them with
 * their state, attempts and last error, look at one (with its body), send a
 * failed one again, and send a `ping` to one of an app's webhooks.
 */
import type { Request } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { DeliveryState, WebhookDelivery, WebhookOutbox } from '../db/admin-types.js';
import { AppError } from '../errors.js';
import { param, route, type Route } from './http.js';
import { body, q, requiredText, text, z } from './schema.js';
import { Delivery } from './answers.js';

export interface WebhookRoutesOptions {
  /** The deliveries. */
  outbox: WebhookOutbox;
  /** Each app's webhooks (for pings). */
  apps: AppLookup;
  /** Sends due deliveries now; queues pings. */
  webhooks: { wake(): void; ping(app: string, url: string): Promise<string> };
}

const STATES = ['pending', 'delivering', 'delivered', 'failed'] as const satisfies readonly DeliveryState[];

export function webhookRoutes(o: WebhookRoutesOptions): Route[] {
  const view = (d: WebhookDelivery, withBody = false) => ({
    id: d.id,
    app: d.app,
    event: d.event,
    url: d.url,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.state === 'pending' && d.nextAttemptAt ? new Date(d.nextAttemptAt).toISOString() : null,
    lastStatus: d.lastStatus ?? null,
    lastError: d.lastError ?? null,
    createdAt: d.createdAt,
    deliveredAt: d.deliveredAt ?? null,
    ...(withBody ? { body: JSON.parse(d.body) as unknown } : {}),
  });
  const find = async (req: Request) => {
    const d = await o.outbox.get(param(req, 'id'));
    if (!d) throw new AppError('delivery_not_found', `no webhook delivery "${param(req, 'id')}"`, 404);
    return d;
  };
  return [
    route({
      method: 'get',
      path: '/webhooks/deliveries',
      query: DeliveriesQuery,
      responses: { 200: z.object({ deliveries: z.array(Delivery), limit: z.int(), offset: z.int() }) },
      handler: async (_req, _res, input) => {
        const { limit, offset, app, state } = input.query();
        const rows = await o.outbox.list({ app: app || undefined, state, limit, offset });
        return { deliveries: rows.map((d) => view(d)), limit, offset };
      },
    }),
    route({ method: 'get', path: '/webhooks/deliveries/:id', responses: { 200: z.intersection(Delivery, z.object({ body: z.record(z.string(), z.unknown()) })) }, handler: async (req) => view(await find(req), true) }),
    route({
      method: 'post',
      path: '/webhooks/deliveries/:id/retry',
      responses: { 200: Delivery },
      handler: async (req) => {
        const d = await find(req);
        if (!(await o.outbox.retry(d.id))) throw new AppError('delivery_not_retryable', `delivery ${d.id} is ${d.state}; only failed or pending deliveries are sent again`, 409);
        const queued = view((await o.outbox.get(d.id))!);
        o.webhooks.wake();
        return queued;
      },
    }),
    route({
      method: 'post',
      path: '/applications/:name/webhooks/test',
      body: webhookTestBody(false),
      optionalBody: true,
      responses: { 202: Delivery },
      handler: async (req, res, input) => {
        const name = param(req, 'name');
        const app = o.apps.get(name);
        if (!app) throw new AppError('app_not_found', `no application "${name}"`, 404);
        if (!app.webhooks.length) throw new AppError('webhook_not_found', `application "${name}" has no webhooks`, 404);
        const { url } = input.body(webhookTestBody(app.webhooks.length !== 1));
        const hook = url === undefined ? app.webhooks[0] : app.webhooks.find((h) => h.url === url);
        if (!hook) throw new AppError('webhook_not_found', `application "${name}" has no webhook with url ${url}`, 404);
        const id = await o.webhooks.ping(name, hook.url);
        res.status(202);
        return view((await o.outbox.get(id))!);
      },
    }),
  ];
}

/** `GET /webhooks/deliveries`'s filters and page. */
export const DeliveriesQuery = z.object({
  limit: q.int(1, 500, 50),
  offset: q.int(0, 1_000_000, 0, 'skip this many'),
  app: q.string('application'),
  state: q.oneOf(STATES),
});

/** Which webhook to ping: needed when the app has several (`required`). */
export function webhookTestBody(required: boolean) {
  const description = 'which webhook (needed when the app has several)';
  return body({ url: required ? requiredText({ description }) : text({ description }).optional() });
}
