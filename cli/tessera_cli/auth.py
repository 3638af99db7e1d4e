"""``tessera login`` (browser, ``user``, ``application``), ``logout`` and ``whoami``.

The browser sign-in works as OAuth's flow for native apps (RFC 8252, with PKCE): the CLI listens
on a loopback port, the user signs in on the control plane's page by any method it offers (local
or single sign-on), and the browser is sent back to the loopback port with a one-time code bound
to the CLI's ``state`` and PKCE challenge; the CLI exchanges the code for a bearer token."""

import base64
import hashlib
import html
import http.server
import os
import secrets
import sys
import time
import webbrowser
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import click

from tessera_cli.client import Api
from tessera_cli.config import Config, config_path
from tessera_cli.errors import CliError, ExitCode
from tessera_cli.output import output_option, show_list, show_object

CALLBACK_PATH = "/callback"


def server_option(function: Any) -> Any:
    return click.option(
        "--server",
        envvar="TESSERA_SERVER",
        metavar="URL",
        help="The control plane's URL, e.g. https://tessera.example (remembered in the config file).",
    )(function)


def _remember(config: Config, server: str, token_answer: dict[str, Any]) -> Config:
    """Store the new token (never the password or secret) and who it speaks for."""
    token = token_answer.get("accessToken") or token_answer.get("access_token")
    if not isinstance(token, str):
        raise CliError("The server answered without a token.")
    if config.server and config.server.rstrip("/") != server:
        config.project = config.projectId = None  # a project of another server means nothing here
    config.server, config.token = server, token
    expires_in = token_answer.get("expiresIn") or token_answer.get("expires_in")
    if isinstance(expires_in, int):
        config.tokenExpiresAt = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat(timespec="seconds")
    me = Api(server, token).get("/api/v1/me")
    config.subject, config.subjectType = str(me.get("name")), str(me.get("subjectType"))
    config.save()
    click.echo(f"Signed in to {server} as {config.subject} ({config.subjectType}).", err=True)
    return config


def _token(server: str, body: dict[str, Any]) -> dict[str, Any]:
    api = Api(server)
    return api.post("/api/v1/token", body, what="Sign-in refused")


LOGIN_HELP = """Sign in to a Tessera control plane.

Without a subcommand, sign in with a browser, by any method the control plane offers (local
account or single sign-on): the CLI listens on a loopback port, prints (and opens) a URL, and
receives a token when you have signed in. The config file keeps the server and the token,
never a password.

\b
Examples:
  tessera login --server https://tessera.example
  tessera login --no-browser          # print the URL only, e.g. over SSH with a forwarded port
  tessera login user -u alice         # asks for the password
  tessera login application --client-id ci --client-secret-stdin < secret.txt
"""


@click.group(invoke_without_command=True, help=LOGIN_HELP)
@server_option
@click.option("--listen-port", type=click.IntRange(0, 65535), default=0, show_default="a free port",
              help="Loopback port on which to receive the browser's answer.")  # fmt: skip
@click.option("--no-browser", is_flag=True, help="Do not open a browser; only print the URL.")
@click.option("--timeout", type=click.IntRange(1), default=300, show_default=True,
              help="Seconds to wait for the browser sign-in.")  # fmt: skip
@click.pass_context
def login(ctx: click.Context, server: str | None, listen_port: int, no_browser: bool, timeout: int) -> None:
    if ctx.invoked_subcommand is not None:
        return
    config = Config.load()
    server = config.require_server(server)
    answer = BrowserSignIn(server, listen_port).run(open_browser=not no_browser, timeout=timeout)
    _remember(config, server, answer)


@login.command("user", epilog="""\b
Examples:
  tessera login user -u alice                     # asks for the password
  echo "$PASSWORD" | tessera login user -u alice --password-stdin""")  # fmt: skip
@server_option
@click.option("-u", "--user", "username", required=True, help="Your username.")
@click.option("-p", "--password", help="Your password (prefer the prompt or --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def login_user(ctx: click.Context, server: str | None, username: str, password: str | None,
               password_stdin: bool) -> None:  # fmt: skip
    """Sign in with a local username and password."""
    config = Config.load()
    server = config.require_server(server or ctx.parent.params.get("server"))  # type: ignore[union-attr]
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, err=True)
    answer = _token(server, {"grantType": "password", "username": username, "password": password})
    _remember(config, server, answer)


@login.command("application", epilog="""\b
Examples:
  tessera login application --client-id ci --client-secret-stdin < secret.txt
  TESSERA_CLIENT_SECRET=... tessera login application --client-id ci""")  # fmt: skip
@server_option
@click.option("--client-id", "--name", "client_id", required=True, envvar="TESSERA_CLIENT_ID",
              help="The application's client id (its name).")  # fmt: skip
@click.option("--client-secret", "--secret", "client_secret", envvar="TESSERA_CLIENT_SECRET",
              help="The application's secret (prefer TESSERA_CLIENT_SECRET or --client-secret-stdin).")  # fmt: skip
@click.option("--client-secret-stdin", is_flag=True, help="Read the secret from standard input.")
@click.pass_context
def login_application(ctx: click.Context, server: str | None, client_id: str, client_secret: str | None,
                      client_secret_stdin: bool) -> None:  # fmt: skip
    """Sign in as an application (for CI and automation) with its client id and secret."""
    config = Config.load()
    server = config.require_server(server or ctx.parent.params.get("server"))  # type: ignore[union-attr]
    if client_secret_stdin:
        client_secret = sys.stdin.readline().strip()
    if not client_secret:
        raise click.UsageError("Give the secret: --client-secret-stdin, TESSERA_CLIENT_SECRET or --client-secret.")
    answer = _token(server, {"grantType": "client_credentials", "clientId": client_id, "clientSecret": client_secret})
    _remember(config, server, answer)


@click.command(epilog="\b\nExamples:\n  tessera logout")
def logout() -> None:
    """Sign out: revoke the token on the server and forget it here."""
    config = Config.load()
    if config.token and config.server:
        try:
            Api(config.server).post("/api/v1/token/revoke", {"token": config.token})
        except CliError as exc:
            if exc.exit_code == ExitCode.UNREACHABLE:
                click.echo(f"Warning: {exc.message}; the token was forgotten here but not revoked.", err=True)
            # Any other refusal means the server no longer honours the token anyway.
    config.forget_login()
    config.save()
    click.echo("Signed out.", err=True)


@click.command(epilog="\b\nExamples:\n  tessera whoami\n  tessera whoami -o json")
@output_option
def whoami(output: str) -> None:
    """Who the stored token speaks for, on which server, with which access rules."""
    config = Config.load()
    api = Api.signed_in(config)
    me = api.get("/api/v1/me")
    me = {"server": api.server, **me, "tokenExpiresAt": config.tokenExpiresAt, "configFile": str(config_path())}
    if output != "table":
        show_object(me, [], output)
        return
    show_object(
        me,
        [
            ("Server", lambda m: m["server"]),
            ("Name", lambda m: m.get("name")),
            ("Type", lambda m: m.get("subjectType")),
            ("Groups", lambda m: ", ".join(m.get("groups") or [])),
            ("Token expires", lambda m: m.get("tokenExpiresAt")),
            ("Project", lambda _: config.project),
        ],
        output,
    )
    rules = me.get("accessRules") or []
    if rules:
        click.echo()
        show_list(
            rules,
            [("ROLE", lambda r: r["roleName"]), ("SCOPE", lambda r: r["scopeType"]), ("ID", lambda r: r["scopeId"])],
            output,
        )


def graphical_session() -> bool:
    """Whether a browser can open beside this terminal. Without a display, Python's webbrowser
    would start a text browser inside the terminal the CLI is using."""
    return sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    )


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class BrowserSignIn:
    """One browser sign-in: a loopback listener, the URL to open, the exchange of the code."""

    def __init__(self, server: str, listen_port: int = 0) -> None:
        self.server = server
        self.state = secrets.token_urlsafe(32)
        self.verifier = secrets.token_urlsafe(48)
        self.answer: dict[str, Any] | None = None
        self.error: CliError | None = None
        sign_in = self

        class Callback(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                sign_in.receive(self)

            def log_message(self, format: str, *args: Any) -> None:  # the terminal is for the user
                pass

        try:
            self.listener = http.server.HTTPServer(("127.0.0.1", listen_port), Callback)
        except OSError as exc:
            raise CliError(f"Cannot listen on 127.0.0.1:{listen_port}: {exc}", ExitCode.USAGE)
        self.redirect_uri = f"http://127.0.0.1:{self.listener.server_address[1]}{CALLBACK_PATH}"

    @property
    def url(self) -> str:
        query = {
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": pkce_challenge(self.verifier),
            "code_challenge_method": "S256",
        }
        return f"{self.server}/cli/login?{urlencode(query)}"

    def run(self, open_browser: bool, timeout: float) -> dict[str, Any]:
        click.echo(f"Open this URL in a browser to sign in:\n\n  {self.url}\n", err=True)
        if open_browser and graphical_session():
            webbrowser.open(self.url)
        else:
            port = self.listener.server_address[1]
            click.echo(f"If the browser runs on another machine, forward the port from it: "
                       f"ssh -L {port}:127.0.0.1:{port} THIS_HOST", err=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        try:
            while self.answer is None and self.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CliError("Timed out waiting for the browser sign-in.", ExitCode.UNAUTHENTICATED)
                self.listener.timeout = left
                self.listener.handle_request()
        finally:
            self.listener.server_close()
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer

    def receive(self, request: http.server.BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != CALLBACK_PATH:
            return self._reply(request, 404, "Not found.")
        # Only the browser that went through this CLI's URL knows the state: anything else is ignored.
        if not secrets.compare_digest(query.get("state", ""), self.state):
            return self._reply(request, 400, "This sign-in answer is not for this terminal (state does not match).")
        if "error" in query:
            self.error = CliError(f"Sign-in refused: {query['error']}", ExitCode.UNAUTHENTICATED)
            return self._reply(request, 400, "Sign-in refused. You can close this tab.")
        exchange = {"code": query.get("code", ""), "state": self.state, "codeVerifier": self.verifier}
        try:
            self.answer = Api(self.server).post("/api/v1/cli/token", exchange, what="Sign-in refused")
        except CliError as exc:
            if exc.exit_code == ExitCode.USAGE:  # the server refused the code (400)
                exc.exit_code = ExitCode.UNAUTHENTICATED
            self.error = exc
            return self._reply(request, 400, "Sign-in refused. You can close this tab and try again.")
        self._reply(request, 200, "Signed in. You can close this tab and return to the terminal.")

    @staticmethod
    def _reply(request: http.server.BaseHTTPRequestHandler, status: int, text: str) -> None:
        body = f"<!doctype html><title>Tessera CLI</title><p>{html.escape(text)}</p>".encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
