// A real OAuth 2.1 authorization server for the authorization tests: the
// npm package oidc-provider, with the client-credentials grant and resource
// indicators (RFC 8707), issuing JWT access tokens for the one resource it is
// told about. ci/auth.sh installs the package and runs this file.
//
// Usage: node authorization_server.mjs PORT RESOURCE CLIENT_ID CLIENT_SECRET
//
// The issuer is http://127.0.0.1:PORT. The client may hold the scopes
// mcp:tools and mcp:admin; tokens name the resource as their audience and
// carry the scopes asked for. Every token issued is logged on stdout as
//   issued kid=KID scope=SCOPE,SCOPE aud=AUD
// and on SIGUSR2 the server rotates its signing key (a new key, the old one
// dropped from the JWKS at once) and logs
//   rotated kid=KID
// It logs "listening ISSUER" once it accepts connections.
import http from "node:http";
import { generateKeyPair, exportJWK, decodeProtectedHeader, decodeJwt } from "jose";
import Provider from "oidc-provider";

const [port, resource, clientId, clientSecret] = process.argv.slice(2);
if (!clientSecret) {
  console.error("usage: authorization_server.mjs PORT RESOURCE CLIENT_ID CLIENT_SECRET");
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const scopes = "mcp:tools mcp:admin";

let generation = 0;

async function signingKey() {
  generation += 1;
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `key-${generation}`, alg: "RS256", use: "sig" };
}

function provider(key) {
  const oidc = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
        scope: scopes,
      },
    ],
    jwks: { keys: [key] },
    scopes: scopes.split(" "),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) {
            throw new Error(`unknown resource ${indicator}`);
          }
          return {
            scope: scopes,
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
  });
  oidc.proxy = false;
  oidc.use(async (ctx, next) => {
    await next();
    const token = ctx.path === "/token" && ctx.body && ctx.body.access_token;
    if (typeof token === "string") {
      const { kid } = decodeProtectedHeader(token);
      const { scope, aud } = decodeJwt(token);
      console.log(`issued kid=${kid} scope=${(scope ?? "").replaceAll(" ", ",")} aud=${aud}`);
    }
  });
  return oidc;
}

let handler = provider(await signingKey()).callback();

process.on("SIGUSR2", async () => {
  const key = await signingKey();
  handler = provider(key).callback();
  console.log(`rotated kid=${key.kid}`);
});
process.on("SIGTERM", () => process.exit(0));

http
  .createServer((req, res) => handler(req, res))
  .listen(Number(port), "127.0.0.1", () => console.log(`listening ${issuer}`));
