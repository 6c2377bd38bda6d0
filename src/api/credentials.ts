/**
 * `/api/v1/credentials/aws`, after Twilio's AWS Credential resource: create
 * from `credentials=AKID:SECRET` (+ `friendlyName`, at most 64 characters) as
 * `application/x-www-form-urlencoded` (Twilio's encoding; `Credentials` and
 * `FriendlyName` are accepted too) or JSON; fetch; list with `pageSize`
 * (at most 1000) and page tokens, with Twilio's `meta` block (in camelCase);
 * rename (POST as Twilio, or PATCH); delete (409 while an app's
 * `s3.credentials.credentialId`, one of its destination rules or the `output`
 * of one of its sources names it). The secret is never in an answer.
 */
import type { Request } from 'express';
import type { AppLookup } from '../apps/app-registry.js';
import type { CredentialStore, StoredCredential } from '../db/types.js';
import { AppError, ValidationError } from '../errors.js';
import { param, route, type Route, type RouteInput } from './http.js';
import { body, q, requiredText, text, z } from './schema.js';
import { Credential } from './answers.js';

export interface CredentialRoutesOptions {
  /** The encrypted credential store. */
  credentials: CredentialStore;
  /** Current applications (which use a credential). */
  apps: AppLookup;
  /** Sources whose `output` names a stored credential (src/sources). */
  sources?: { usingCredential(sid: string): Array<{ app: string; streamId: string }> };
}

const BASE = '/api/v1/credentials/aws';
const SID = /^CR[0-9a-fA-F]{32}$/;

export function credentialRoutes(o: CredentialRoutesOptions): Route[] {
  const sourcesUsing = (sid: string) => o.sources?.usingCredential(sid) ?? [];
  const usedBy = (sid: string) => {
    const apps = o.apps.list().filter((a) => a.s3.credentials.credentialId === sid || (a.destinations ?? []).some((d) => d.credential === sid)).map((a) => a.name);
    for (const s of sourcesUsing(sid)) if (!apps.includes(s.app)) apps.push(s.app);
    return apps;
  };
  const view = (c: StoredCredential) => ({
    sid: c.id,
    friendlyName: c.friendlyName,
    accessKeyIdHint: c.accessKeyIdHint,
    dateCreated: c.createdAt,
    dateUpdated: c.updatedAt,
    url: `${BASE}/${c.id}`,
    usedBy: usedBy(c.id),
  });
  const find = async (req: Request) => {
    const sid = param(req, 'sid');
    const c = SID.test(sid) ? await o.credentials.get(sid) : undefined;
    if (!c) throw new AppError('credential_not_found', `no stored credential "${sid}"`, 404);
    return c;
  };
  const rename = async (req: Request, input: RouteInput<z.output<typeof RenameBody>, unknown>) => {
    const c = await find(req);
    return view(await o.credentials.updateFriendlyName(c.id, input.body().friendlyName));
  };
  return [
    route({
      method: 'post',
      path: '/credentials/aws',
      body: CredentialBody,
      form: true,
      aliases: ALIASES,
      responses: { 201: Credential },
      handler: async (_req, res, input) => {
        const { credentials: pair, friendlyName } = input.body();
        let c: StoredCredential;
        try {
          c = await o.credentials.create({ credentials: pair, friendlyName });
        } catch (err) {
          // The store's message never repeats the input (it holds the secret).
          if (err instanceof AppError && err.code === 'credentials_invalid') throw new ValidationError([{ path: 'credentials', message: err.message }]);
          throw err;
        }
        res.status(201).setHeader('Location', `${BASE}/${c.id}`);
        return view(c);
      },
    }),
    route({
      method: 'get',
      path: '/credentials/aws',
      query: ListQuery,
      responses: { 200: z.object({ credentials: z.array(Credential), meta: PageMeta }) },
      handler: async (_req, _res, input) => {
        const qs = input.query();
        const pageSize = qs.pageSize ?? qs.PageSize ?? 50;
        const page = qs.page ?? qs.Page ?? 0;
        const pageToken = qs.pageToken ?? qs.PageToken;
        let result;
        try {
          result = await o.credentials.list({ pageSize, pageToken: pageToken || undefined });
        } catch (err) {
          if (err instanceof AppError && err.code === 'page_token_invalid') throw new AppError('invalid_parameter', 'query parameter pageToken: not a page token from this API', 400);
          throw err;
        }
        const urlOf = (p: number, token?: string) => `${BASE}?pageSize=${pageSize}&page=${p}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`;
        return {
          credentials: result.items.map(view),
          meta: {
            key: 'credentials',
            page,
            pageSize,
            url: urlOf(page, pageToken || undefined),
            firstPageUrl: urlOf(0),
            nextPageUrl: result.nextPageToken ? urlOf(page + 1, result.nextPageToken) : null,
            previousPageUrl: result.previousPageToken ? urlOf(Math.max(0, page - 1), result.previousPageToken) : null,
            nextPageToken: result.nextPageToken ?? null,
            previousPageToken: result.previousPageToken ?? null,
          },
        };
      },
    }),
    route({ method: 'get', path: '/credentials/aws/:sid', responses: { 200: Credential }, handler: async (req) => view(await find(req)) }),
    route({ method: 'post', path: '/credentials/aws/:sid', body: RenameBody, optionalBody: true, form: true, aliases: ALIASES, responses: { 200: Credential }, handler: (req, _res, input) => rename(req, input) }),
    route({ method: 'patch', path: '/credentials/aws/:sid', body: RenameBody, optionalBody: true, form: true, aliases: ALIASES, responses: { 200: Credential }, handler: (req, _res, input) => rename(req, input) }),
    route({
      method: 'delete',
      path: '/credentials/aws/:sid',
      responses: { 204: null },
      handler: async (req, res) => {
        const c = await find(req);
        const apps = usedBy(c.id);
        const sources = sourcesUsing(c.id).map((s) => `source "${s.streamId}" of "${s.app}"`);
        if (apps.length) throw new AppError('credential_in_use', `credential ${c.id} is used by ${apps.map((a) => `"${a}"`).join(', ')} (s3.credentials.credentialId, a destinations rule${sources.length ? `, or the output of ${sources.join(', ')}` : ''}); point those elsewhere first`, 409);
        await o.credentials.delete(c.id);
        res.status(204).end();
      },
    }),
  ];
}

/** Twilio's capitalized names, read as the camelCase ones. */
const ALIASES = { Credentials: 'credentials', FriendlyName: 'friendlyName' };
const FRIENDLY_NAME = 'at most 64 characters (also FriendlyName)';

export const CredentialBody = body({
  credentials: requiredText({ max: 400, description: '<AWS_ACCESS_KEY_ID>:<AWS_SECRET_ACCESS_KEY> (also accepted as Credentials)' }),
  friendlyName: text({ max: 64, description: FRIENDLY_NAME }).optional(),
}).meta({ id: 'CredentialInput' });

export const RenameBody = body({ friendlyName: requiredText({ max: 64, description: FRIENDLY_NAME }) });

/** Paging, Twilio's way (its capitalized names too; the camelCase one wins). */
export const ListQuery = z.object({
  PageSize: q.int(1, 1000, undefined),
  pageSize: q.int(1, 1000, undefined, '1–1000 (50); also PageSize'),
  Page: q.int(0, 1_000_000, undefined),
  page: q.int(0, 1_000_000, undefined, 'page index, for the client\'s own state; also Page'),
  pageToken: q.string('from meta.nextPageUrl / previousPageUrl; also PageToken'),
  PageToken: q.string(),
});

const PageMeta = z.object({
  key: z.string(),
  page: z.int(),
  pageSize: z.int(),
  url: z.string(),
  firstPageUrl: z.string(),
  nextPageUrl: z.string().nullable(),
  previousPageUrl: z.string().nullable(),
  nextPageToken: z.string().nullable(),
  previousPageToken: z.string().nullable(),
});
