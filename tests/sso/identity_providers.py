"""Real identity providers for the SSO tests, each in its own process on loopback.

- ``OidcProvider``: the npm package oidc-provider (a certified OpenID provider) run by Node.js,
  from tests/sso/oidc_op (``npm ci`` there installs it).
- ``SimpleSamlPhp``: Debian's SimpleSAMLphp, unpacked by tests/sso/saml_idp/install-simplesamlphp.sh
  and served by ``php -S``, with this folder's own config and the exampleauth module's static users.

Outside CI a missing tool skips the tests that need it, saying what to install; in CI
(``TESSERA_TEST_REQUIRE_SERVICES=1``) it fails them.
"""

import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sso.services import sp_keys
from tests.conftest import REPO, free_port
from tests.polling import wait_until

HERE = Path(__file__).resolve().parent
OIDC_OP_DIR = HERE / "oidc_op"
SAML_IDP_DIR = HERE / "saml_idp"
SIMPLESAMLPHP_DIR = Path(os.environ.get("TESSERA_SIMPLESAMLPHP_DIR", REPO / "var" / "sso" / "simplesamlphp"))


def require(available: bool, what: str, how: str) -> None:
    """Skip (or, in CI, fail) unless ``available``."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if os.environ.get("TESSERA_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"CI requires it. {message}")
    pytest.skip(message)


@dataclass
class ProviderProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, url: str, what: str) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"{what} exited early:\n{self.log()}")
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=30, what=f"{what} to answer {url}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class OidcAccount:
    password: str
    claims: dict


@dataclass
class OidcProvider:
    """oidc-provider on loopback with one client, Tessera. Its users can be changed while it runs."""

    issuer: str
    client_id: str
    client_secret: str
    config_path: Path
    proc: ProviderProcess
    accounts: dict[str, OidcAccount] = field(default_factory=dict)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def set_account(self, name: str, password: str, **claims) -> None:
        self.accounts[name] = OidcAccount(password, claims)
        self._write()

    def _write(self) -> None:
        config = json.loads(self.config_path.read_text())
        config["accounts"] = {name: {"password": a.password, "claims": a.claims} for name, a in self.accounts.items()}
        self.config_path.write_text(json.dumps(config))

    @classmethod
    def start(cls, folder: Path, redirect_uris: list[str], post_logout_redirect_uris: list[str]) -> "OidcProvider":
        require(shutil.which("node") is not None, "Node.js", "install nodejs (.ci/run does)")
        require(
            (OIDC_OP_DIR / "node_modules" / "oidc-provider").is_dir(),
            "the oidc-provider package",
            f"run `npm ci` in {OIDC_OP_DIR} (.ci/run does)",
        )
        port = free_port()
        client_id, client_secret = "tessera", secrets.token_urlsafe(32)
        config_path = folder / "oidc-provider.json"
        clients = [{"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": post_logout_redirect_uris}]  # fmt: skip
        config_path.write_text(json.dumps({"port": port, "clients": clients, "accounts": {}}))
        log_path = folder / "oidc-provider.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                ["node", "server.mjs", str(config_path)], cwd=OIDC_OP_DIR, stdout=log_file, stderr=subprocess.STDOUT
            )
        issuer = f"http://127.0.0.1:{port}"
        provider = cls(issuer, client_id, client_secret, config_path, ProviderProcess(process, log_path))
        provider.proc.wait_ready(provider.discovery_url, "oidc-provider")
        return provider


def self_signed(common_name: str) -> tuple[str, str]:
    """(private key PEM, certificate PEM) of a new RSA key: a short-lived 2048-bit one, quick to make."""
    return sp_keys.self_signed(common_name, key_size=2048, days=30)


def pem_body(pem: str) -> str:
    """The base64 of a PEM certificate, as SAML metadata carries it."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


@dataclass
class ServiceProvider:
    """Tessera as SimpleSAMLphp knows it, for one of Tessera's identity provider aliases."""

    entity_id: str
    acs: str
    sls: str
    certificate: str
    signature_algorithm: str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


@dataclass
class SimpleSamlPhp:
    """SimpleSAMLphp on loopback. Reached as ``localhost`` while Tessera is ``127.0.0.1``: two
    sites, so its response arrives at Tessera as a cross-site POST, as in real deployments."""

    base_url: str
    state: Path
    key_pem: str
    certificate_pem: str
    proc: ProviderProcess

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/saml2/idp/metadata.php"

    @property
    def entity_id(self) -> str:
        return self.metadata_url

    def set_users(self, users: dict[str, dict]) -> None:
        """``{"alice": {"password": ..., "attributes": {"uid": ["alice"], ...}}}``; read per request."""
        (self.state / "users.json").write_text(json.dumps(users))

    @classmethod
    def start(cls, folder: Path, service_providers: list[ServiceProvider]) -> "SimpleSamlPhp":
        require(shutil.which("php") is not None, "PHP", "install php-cli php-xml php-mbstring (.ci/run does)")
        require(
            (SIMPLESAMLPHP_DIR / "www" / "module.php").is_file(),
            "SimpleSAMLphp",
            f"run {SAML_IDP_DIR / 'install-simplesamlphp.sh'} (.ci/run does)",
        )
        state = folder / "simplesamlphp"
        for sub in ("cert", "log", "data", "tmp", "sessions"):
            (state / sub).mkdir(parents=True, exist_ok=True)
        key_pem, cert_pem = self_signed("SimpleSAMLphp test identity provider")
        (state / "cert" / "idp.key").write_text(key_pem)
        (state / "cert" / "idp.crt").write_text(cert_pem)
        (state / "secretsalt").write_text(secrets.token_hex(16))
        (state / "users.json").write_text("{}")
        sps = [sp.__dict__ | {"certificate": pem_body(sp.certificate)} for sp in service_providers]
        (state / "service_providers.json").write_text(json.dumps(sps))
        port = free_port()
        base_url = f"http://localhost:{port}"
        env = dict(os.environ, SSP_STATE_DIR=str(state), SSP_BASEURL=base_url,
                   SIMPLESAMLPHP_CONFIG_DIR=str(SAML_IDP_DIR / "config"))  # fmt: skip
        log_path = folder / "simplesamlphp.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                ["php", "-S", f"127.0.0.1:{port}", "-t", str(SIMPLESAMLPHP_DIR / "www")],
                env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
        idp = cls(base_url, state, key_pem, cert_pem, ProviderProcess(process, log_path))
        idp.proc.wait_ready(idp.metadata_url, "SimpleSAMLphp")
        return idp

    def log(self) -> str:
        logs = [self.proc.log()] + [p.read_text(errors="replace") for p in (self.state / "log").glob("*")]
        return "\n".join(logs)
