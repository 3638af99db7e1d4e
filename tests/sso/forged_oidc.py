"""ForgedOidcProviderFake: an OpenID provider that mints the broken ID tokens and userinfo a real
provider never would (wrong issuer, audience or nonce, expired, ``alg=none``, a bad signature, an
unknown key id, a userinfo about someone else). It is a fake, named as such; the real provider
(oidc-provider) covers the correct flow and what it can be made to do wrong.

With ``defect=None`` it mints correct tokens, and Tessera signs the user in: so a refusal with a
defect set is due to that defect alone.
"""

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

DEFECTS = ("wrong_nonce", "no_nonce", "wrong_iss", "wrong_aud", "expired", "alg_none", "bad_signature",
           "unknown_kid", "userinfo_sub_mismatch")  # fmt: skip


class ForgedOidcProviderFake:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_id = "tessera"
        self.client_secret = secrets.token_urlsafe(24)
        self.defect: str | None = None
        self.subject = "forged-user"
        self.claims: dict = {"email": "forged@example.org", "email_verified": True, "groups": ["forged-group"]}
        self.codes: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> "ForgedOidcProviderFake":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def _jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def _id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": self.subject, "iat": now, "exp": now + 300,
                  "nonce": nonce} | self.claims  # fmt: skip
        defect = self.defect
        if defect == "wrong_nonce":
            claims["nonce"] = secrets.token_urlsafe(16)
        elif defect == "no_nonce":
            del claims["nonce"]
        elif defect == "wrong_iss":
            claims["iss"] = "http://127.0.0.1:1/another-issuer"
        elif defect == "wrong_aud":
            claims["aud"] = "another-client"
        elif defect == "expired":
            claims["iat"], claims["exp"] = now - 600, now - 300
        if defect == "alg_none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": self.kid})
        if defect == "unknown_kid":
            return jwt.encode(claims, self.other_key, algorithm="RS256", headers={"kid": "not-in-the-jwks"})
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        if defect == "bad_signature":
            # The same header and claims, signed by another key under the provider's key id.
            token = jwt.encode(claims, self.other_key, algorithm="RS256", headers={"kid": self.kid})
        return token

    def _userinfo(self) -> dict:
        sub = "someone-else" if self.defect == "userinfo_sub_mismatch" else self.subject
        return {"sub": sub} | self.claims

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(fake._discovery())
                elif url.path == "/jwks":
                    self._json(fake._jwks())
                elif url.path == "/authorize":
                    code = secrets.token_urlsafe(16)
                    fake.codes[code] = {"nonce": query.get("nonce", "")}
                    self.send_response(302)
                    self.send_header(
                        "location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    )
                    self.end_headers()
                elif url.path == "/userinfo":
                    self._json(fake._userinfo())
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                entry = fake.codes.pop(form.get("code", ""), None)
                if self.path != "/token" or entry is None or form.get("client_secret") != fake.client_secret:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                            "id_token": fake._id_token(entry["nonce"])})  # fmt: skip

        return Handler
