// A real OpenID provider for Tessera's SSO tests: the oidc-provider package on loopback, with one
// client (Tessera) and users that have passwords, e-mail addresses and groups.
//
// Configured by a JSON file named in the first argument:
//   {"port": 0, "clients": [{client_id, client_secret, redirect_uris}],
//    "accounts": {"alice": {"password": "...", "claims": {"email": ..., "groups": [...]}}}}
// Prints "listening <issuer>" once it answers.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// Read again on every use, so a test can change a user's groups between two sign-ins.
const accounts = () => JSON.parse(readFileSync(process.argv[2], 'utf8')).accounts;
const signingKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomUUID(), use: 'sig', alg: 'RS256' };
const scopes = 'openid email profile groups';

function page(title, body) {
  return `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      ...client,
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomUUID()] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    scopes: scopes.split(' '),
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = accounts()[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
    },
    // Tessera is a first-party client: no consent screen.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(scopes);
      await grant.save();
      return grant;
    },
  });

  async function interaction(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html');
      res.end(page('Sign in to the test provider', `<form method="post" action="/interaction/${uid}">
        <input name="username"><input name="password" type="password"><button>Sign in</button></form>`));
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const account = accounts()[form.get('username')];
    if (details.prompt.name !== 'login' || !account || account.password !== form.get('password')) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html');
      res.end(page('Wrong username or password', ''));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: form.get('username') } },
      { mergeWithLastSubmission: false });
  }

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = req.url.match(/^\/interaction\/([\w-]+)$/);
    if (match) {
      interaction(req, res, match[1]).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    } else {
      callback(req, res);
    }
  });
  console.log(`listening ${issuer}`);
});
