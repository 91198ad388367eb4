"""Tokens from an identity provider: keys from a real JWKS endpoint on 127.0.0.1, time injected.

A small HTTP server serves whatever key set the test puts there and counts
the fetches; the clock is the test's, so "five minutes later" is one line.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import Litestar, Request, get
from litestar.testing import AsyncTestClient

from mediaplane.servicekit.auth import AuthSettings, TokenVerifier, Unauthorized
from mediaplane.servicekit.jwks import ALGORITHMS, JwksKeys, KeysUnavailable, parse_key_set
from mediaplane.servicekit.problems import EXCEPTION_HANDLERS

ISSUER = "https://idp.test/"
AUDIENCE = "mediaplane"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class SigningKey:
    def __init__(self, kid: str, private: Any, algorithm: str) -> None:
        self.kid, self.private, self.algorithm = kid, private, algorithm

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        public: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def token(self, sub: str = "alice", **claims: Any) -> str:
        payload = {
            "sub": sub,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 3600,
            **claims,
        }
        return jwt.encode(payload, self.private, self.algorithm, headers={"kid": self.kid})


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()), "ES256")


class Idp(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), IdpHandler)
        self.keys: list[SigningKey] = []
        self.fetches = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/.well-known/jwks.json"


class IdpHandler(BaseHTTPRequestHandler):
    server: Idp

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        self.server.fetches += 1
        body = json.dumps({"keys": [key.jwk() for key in self.server.keys]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def idp() -> Iterator[Idp]:
    server = Idp()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def settings(url: str, **overrides: Any) -> AuthSettings:
    return AuthSettings(jwks_url=url, issuer=ISSUER, audience=AUDIENCE, **overrides)


def verifier_for(idp: Idp, clock: Clock, **keys: Any) -> tuple[TokenVerifier, JwksKeys]:
    jwks = JwksKeys(idp.url, cache_seconds=300, min_refresh_seconds=30, clock=clock, **keys)
    return TokenVerifier(settings(idp.url), clock=clock, keys=jwks), jwks


def test_jwks_mode_requires_issuer_and_audience() -> None:
    url = "https://idp.test/jwks.json"
    partials: list[dict[str, Any]] = [{}, {"issuer": ISSUER}, {"audience": AUDIENCE}]
    for partial in partials:
        with pytest.raises(ValueError, match="MEDIAPLANE_JWT_ISSUER and MEDIAPLANE_JWT_AUDIENCE"):
            AuthSettings(jwks_url=url, **partial)
    assert settings(url).jwks_cache_seconds == 300


def test_from_env_reads_the_cache_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIAPLANE_JWT_SECRET", raising=False)
    monkeypatch.setenv("MEDIAPLANE_JWKS_URL", "https://idp.test/jwks.json")
    monkeypatch.setenv("MEDIAPLANE_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("MEDIAPLANE_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("MEDIAPLANE_JWKS_CACHE_SECONDS", "60")
    assert AuthSettings.from_env().jwks_cache_seconds == 60
    monkeypatch.delenv("MEDIAPLANE_JWT_AUDIENCE")
    with pytest.raises(ValueError, match="MEDIAPLANE_JWT_AUDIENCE"):
        AuthSettings.from_env()


async def test_a_key_removed_from_the_jwks_stops_verifying_within_the_cache_lifetime(
    idp: Idp,
) -> None:
    old, new = rsa_key("2026-old"), ec_key("2026-new")
    idp.keys = [old, new]
    clock = Clock()
    verifier, jwks = verifier_for(idp, clock)
    await jwks.refresh()
    remembered = old.token()
    assert verifier.verify(remembered).owner == "alice"
    assert verifier.verify(new.token(sub="bob")).owner == "bob"

    idp.keys = [new]  # the provider revokes the old key
    clock.now += 130
    await jwks.maintain()  # not due yet: under half the lifetime
    assert idp.fetches == 1
    assert verifier.verify(old.token()).owner == "alice"
    assert verifier.verify(remembered).owner == "alice"  # re-verified: remembered anew

    clock.now += 30  # past half the lifetime: the background task refetches
    await jwks.maintain()
    assert idp.fetches == 2
    for token in (remembered, old.token()):
        with pytest.raises(Unauthorized, match="no signing key '2026-old'"):
            verifier.verify(token)
    assert verifier.verify(new.token(sub="bob")).owner == "bob"


async def test_an_unreachable_provider_expires_the_keys_instead_of_trusting_them(
    idp: Idp,
) -> None:
    key = rsa_key("k1")
    idp.keys = [key]
    clock = Clock()
    verifier, jwks = verifier_for(idp, clock)
    await jwks.refresh()
    token = key.token()
    assert verifier.verify(token).owner == "alice"

    idp.shutdown()
    idp.server_close()
    clock.now += 290
    await jwks.maintain()  # fails, logged: the set is kept until its lifetime ends
    carol = key.token(sub="carol")
    # Remembered for the 10 s the set has left, not the usual 60 s recheck.
    assert verifier.verify(carol).owner == "carol"
    clock.now += 11
    await jwks.maintain()
    for remembered in (token, carol):
        with pytest.raises(KeysUnavailable):
            verifier.verify(remembered)


async def test_an_unknown_kid_triggers_one_rate_limited_refresh(idp: Idp) -> None:
    first, added, forged = rsa_key("k1"), rsa_key("k2"), rsa_key("made-up")
    idp.keys = [first]
    clock = Clock()
    verifier, jwks = verifier_for(idp, clock)
    await jwks.refresh()
    clock.now += 31
    idp.keys = [first, added]  # the provider adds a key and signs with it at once

    with pytest.raises(Unauthorized, match="no signing key 'k2'"):
        verifier.verify(added.token())
    await jwks.maintain()
    assert idp.fetches == 2
    assert verifier.verify(added.token()).owner == "alice"

    # Made-up key ids do not make the service hammer the provider.
    for _ in range(5):
        with pytest.raises(Unauthorized, match="no signing key 'made-up'"):
            verifier.verify(forged.token())
        await jwks.maintain()
    assert idp.fetches == 2
    clock.now += 30
    await jwks.maintain()
    assert idp.fetches == 3


async def test_tokens_are_checked_against_issuer_audience_and_the_keys_algorithm(
    idp: Idp,
) -> None:
    key = rsa_key("k1")
    idp.keys = [key]
    verifier, jwks = verifier_for(idp, Clock())
    await jwks.refresh()
    bad = [
        key.token(iss="https://other.test/"),
        key.token(aud="another-app"),
        # HS256 with the public key as the secret: the classic algorithm confusion.
        jwt.encode(
            {"sub": "eve", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
            "k1-public-key-used-as-an-hmac-secret",
            algorithm="HS256",
            headers={"kid": "k1"},
        ),
    ]
    for token in bad:
        with pytest.raises(Unauthorized, match="invalid token"):
            verifier.verify(token)


def test_only_asymmetric_signing_keys_with_an_id_are_used() -> None:
    signing = rsa_key("sig").jwk()
    parsed = parse_key_set(
        {
            "keys": [
                signing,
                {**rsa_key("enc").jwk(), "use": "enc"},
                {**ec_key("no-id").jwk(), "kid": ""},
                {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
                {"kty": "unknown", "kid": "odd"},
            ]
        }
    )
    assert list(parsed) == ["sig"]
    assert parsed["sig"].algorithm_name in ALGORITHMS
    with pytest.raises(ValueError, match="keys"):
        parse_key_set(["not", "a", "set"])


async def test_the_api_fetches_keys_at_start_and_answers_503_when_it_cannot(
    idp: Idp,
) -> None:
    @get("/whoami", sync_to_thread=False)
    def whoami(request: Request[Any, Any, Any]) -> str:
        verifier: TokenVerifier = request.app.state.verifier
        return verifier.from_request(request).owner

    key = ec_key("k1")
    idp.keys = [key]
    verifier = TokenVerifier(settings(idp.url))
    app = Litestar(route_handlers=[whoami], exception_handlers=EXCEPTION_HANDLERS)
    app.state.verifier = verifier
    async with verifier.running(), AsyncTestClient(app=app) as client:
        ok = await client.get("/whoami", headers={"Authorization": f"Bearer {key.token()}"})
        assert (ok.status_code, ok.text) == (200, "alice")

    down = TokenVerifier(settings("http://127.0.0.1:9/jwks.json"))
    app.state.verifier = down
    async with down.running(), AsyncTestClient(app=app) as client:
        refused = await client.get("/whoami", headers={"Authorization": f"Bearer {key.token()}"})
        assert refused.status_code == 503
        assert refused.json()["code"] == "keys_unavailable"


async def test_with_a_dev_secret_too_both_kinds_verify_each_with_its_own_key(idp: Idp) -> None:
    """The local platform: the identity provider's RS256 tokens and HS256 dev tokens."""
    key = rsa_key("k1")
    idp.keys = [key]
    clock = Clock()
    jwks = JwksKeys(idp.url, cache_seconds=300, min_refresh_seconds=30, clock=clock)
    secret = "the-local-dev-secret-0123456789abcdef"
    verifier = TokenVerifier(settings(idp.url, hs256_secret=secret), clock=clock, keys=jwks)
    await jwks.refresh()
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    assert verifier.verify(key.token(sub="alice")).owner == "alice"
    dev = jwt.encode({"sub": "bob", **claims}, secret, algorithm="HS256")
    assert verifier.verify(dev).owner == "bob"
    bad = [
        # Another secret, or the dev secret with another issuer or audience.
        jwt.encode(
            {"sub": "eve", **claims}, "not-the-dev-secret-0123456789abcd", algorithm="HS256"
        ),
        jwt.encode(
            {"sub": "eve", **claims, "iss": "https://other.test/"}, secret, algorithm="HS256"
        ),
        jwt.encode({"sub": "eve", **claims, "aud": "another-app"}, secret, algorithm="HS256"),
        # HS256 keyed with the RSA key's id is still only checked against the dev secret.
        jwt.encode(
            {"sub": "eve", **claims},
            "k1-public-key-used-as-an-hmac-secret",
            algorithm="HS256",
            headers={"kid": "k1"},
        ),
    ]
    for token in bad:
        with pytest.raises(Unauthorized, match="invalid token"):
            verifier.verify(token)


async def test_until_a_first_key_set_arrives_every_poll_fetches(idp: Idp) -> None:
    """A provider that starts after the service: the keys come at the next poll, not 30 s
    later; once a set is in, the rate limit applies again."""
    clock = Clock()
    jwks = JwksKeys("http://127.0.0.1:9/jwks.json", min_refresh_seconds=30, clock=clock)
    await jwks.maintain()  # nothing there yet: logged
    assert jwks.due()
    jwks_url_now_up = JwksKeys(idp.url, min_refresh_seconds=30, clock=clock)
    idp.keys = [rsa_key("k1")]
    jwks_url_now_up._last_attempt = clock()  # as if a first attempt had just failed
    assert jwks_url_now_up.due()
    await jwks_url_now_up.maintain()
    assert jwks_url_now_up.key_for("k1")
    assert not jwks_url_now_up.due()
