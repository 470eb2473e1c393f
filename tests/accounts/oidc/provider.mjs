// A real OpenID Connect provider for tests/accounts/test_sso.py: panva's certified
// oidc-provider (the version package-lock.json pins), as a city hall would run one.
//
//   node provider.mjs   (configured by the environment, see below)
//
// It listens on 127.0.0.1 at a free port and prints one JSON line when ready:
// {"issuer": "http://127.0.0.1:PORT"}. Everything is in memory (the package's own
// memory adapter, a signing key made at start), so each run starts empty.
//
// Environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET   the one client (confidential, code flow, PKCE required)
//   OIDC_REDIRECT_URIS                   its redirect URIs, separated by spaces
//   OIDC_ACCOUNTS                        JSON {"login": {"password": "...", "claims": {...}}}
//
// The login and consent pages are this file's own (devInteractions is off): plain
// HTML forms, which the tests fill in and submit as a browser would. One route is
// for the tests alone: PUT /_test/accounts/LOGIN with a JSON object replaces that
// account's claims (the city hall moves someone to another group).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const clientId = process.env.OIDC_CLIENT_ID ?? 'twinplan';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'twinplan-test-secret';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '').split(/\s+/).filter(Boolean);
const accounts = new Map(Object.entries(JSON.parse(process.env.OIDC_ACCOUNTS ?? '{}')));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // Standard scopes, and a "groups" scope for the group claim (as Keycloak's
  // "groups" client scope, or Entra ID's groups claim).
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(ctx, sub) {
    if (!accounts.has(sub)) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...accounts.get(sub).claims };
      },
    };
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: false } },
  // Every client must use PKCE: a relying party that does not is refused.
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);

  provider.use(async (ctx, next) => {
    const test = ctx.path.match(/^\/_test\/accounts\/([^/]+)$/);
    if (test && ctx.method === 'PUT') {
      const login = decodeURIComponent(test[1]);
      if (!accounts.has(login)) ctx.throw(404, `no account ${login}`);
      accounts.get(login).claims = JSON.parse(await readBody(ctx.req));
      ctx.status = 204;
      return;
    }

    const match = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|confirm))?$/);
    if (!match) return next();
    ctx.set('cache-control', 'no-store');
    const [, uid, action] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'this is not the interaction in progress');
    const { prompt, params, session } = details;

    if (!action && ctx.method === 'GET') {
      ctx.type = 'html';
      if (prompt.name === 'login') {
        ctx.body = page('Sign in to the city hall', `
          <form method="post" action="/interaction/${escape(uid)}/login">
            <label>Login <input name="login" autocomplete="username"></label>
            <label>Password <input name="password" type="password"></label>
            <button type="submit">Sign in</button>
          </form>`);
      } else {
        ctx.body = page(`Allow ${params.client_id} to know who you are?`, `
          <p>It asks for: ${escape(params.scope)}</p>
          <form method="post" action="/interaction/${escape(uid)}/confirm">
            <button type="submit">Allow</button>
          </form>`);
      }
      return;
    }
    if (ctx.method !== 'POST') ctx.throw(405);

    let result;
    if (action === 'login') {
      const form = new URLSearchParams(await readBody(ctx.req));
      const account = accounts.get(form.get('login'));
      if (!account || account.password !== form.get('password')) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = page('Wrong login or password', '<p>Go back and try again.</p>');
        return;
      }
      result = { login: { accountId: form.get('login') } };
    } else if (action === 'confirm' && prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      result = { consent: details.grantId ? {} : { grantId } };
    } else {
      ctx.throw(400, `cannot ${action} at the ${prompt.name} prompt`);
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: action !== 'login',
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
