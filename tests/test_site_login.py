"""The private instance's sign-in hardened (issue 12 item 4): failed logins limited, cookies flagged, over real
HTTP against `csww serve --private`."""

from __future__ import annotations

import os
import re
import shutil

import httpx
import pytest
from datasette_auth_passwords.utils import hash_password
from test_site import add_local_returns
from test_site_security import start, stop

from benchmark import site, site_security

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def private(mini_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("private")
    shutil.copy(mini_db, out / "csww.db")
    add_local_returns(out / "csww.db")               # an unpublished return: the build has a private.db
    # few hash iterations keep each attempt cheap; the limit counts attempts, not their cost
    env = {**os.environ, site.PRIVATE_HASH_ENV: hash_password(PASSWORD, iterations=1000)}
    proc, base = start(out, "--private", env=env)
    yield base
    stop(proc)


def sign_in(base: str, password: str, **headers) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30, headers=headers) as c:
        form = c.get("/-/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
        return c.post("/-/login", data={"username": site.PRIVATE_USER, "password": password, "csrftoken": token})


def cookie(response: httpx.Response, name: str) -> str:
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert found, (name, response.headers.get_list("set-cookie"))
    return found[0]


def test_sign_in_cookie_is_httponly_samesite_with_expiry_and_secure_over_https(private):
    r = sign_in(private, PASSWORD)
    assert r.status_code == 302
    actor = cookie(r, "ds_actor")
    flags = [f.strip().lower() for f in actor.split(";")[1:]]
    assert "httponly" in flags and "samesite=lax" in flags and f"max-age={site_security.SESSION_SECONDS}" in flags
    assert "secure" not in flags                      # plain http on localhost: a Secure cookie would never return
    # behind an https proxy (uvicorn trusts X-Forwarded-Proto from 127.0.0.1) the cookie is Secure too
    r = sign_in(private, PASSWORD, **{"X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    actor = cookie(r, "ds_actor")
    assert {"secure", "httponly"} <= {f.strip().lower() for f in actor.split(";")[1:]}
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_failed_sign_ins_are_limited_even_for_the_right_password(private):
    assert sign_in(private, PASSWORD).status_code == 302  # a success clears the count
    for _ in range(site_security.MAX_FAILED_LOGINS):
        r = sign_in(private, "wrong")
        assert r.status_code == 200 and "Invalid username or password" in r.text
        assert not [v for v in r.headers.get_list("set-cookie") if v.startswith("ds_actor=")]
    r = sign_in(private, PASSWORD)
    assert r.status_code == 429 and "too many failed sign-ins" in r.text
    assert 0 < int(r.headers["retry-after"]) <= site_security.LOGIN_WINDOW_SECONDS
    assert not [v for v in r.headers.get_list("set-cookie") if v.startswith("ds_actor=")]
    # the pages themselves still answer (only sign-in attempts are held back)
    with httpx.Client(base_url=private, timeout=30) as c:
        assert c.get("/-/login").status_code == 200


def test_login_limiter_window_with_a_clock():
    """The window slides: attempts older than it stop counting (a clock the test moves, no sleeping)."""
    now = [1000.0]
    limiter = site_security.LoginLimiter(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 60
    assert limiter.retry_after("10.0.0.2") == 0       # per client address
    now[0] += 59.5
    assert limiter.retry_after("10.0.0.1") == 1
    now[0] += 0.5
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.failed("10.0.0.1")
    limiter.succeeded("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0
