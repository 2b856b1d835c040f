"""Schemathesis hooks of `cargo xtask test` (loaded through SCHEMATHESIS_HOOKS).

The run authenticates as the development superuser with one bearer token. Requests that would
take that session away are not generated: changing the superuser (password reset, deactivation,
role removal), the `admin` role, or the permissions present at start-up (which the `admin` role
holds). Without this, the stateful phase soon resets the superuser's password or empties the admin
role and every later request gets 401/403, testing nothing. See docs/testing.md.
"""

import json
import os
import urllib.request

import schemathesis

_PROTECTED = None


def _get(path):
    request = urllib.request.Request(
        os.environ["KWIK_ST_BASE"] + path,
        headers={"Authorization": "Bearer " + os.environ["KWIK_ST_TOKEN"]},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _protected():
    """Ids that must not be changed: {path parameter name: set of ids}."""
    global _PROTECTED
    if _PROTECTED is None:
        me = _get("/users/me")
        roles = _get("/roles/?limit=1000")["data"]
        permissions = _get("/permissions/?limit=1000")["data"]
        _PROTECTED = {
            "user_id": {me["id"]},
            "role_id": {role["id"] for role in roles if role["name"] == "admin"},
            "permission_id": {permission["id"] for permission in permissions},
        }
    return _PROTECTED


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@schemathesis.hook
def filter_case(context, case):
    if case.method.upper() in ("GET", "HEAD", "OPTIONS"):
        return True
    if case.path == "/users/me" and isinstance(case.body, dict) and "is_active" in case.body:
        return False
    protected = _protected()
    for name, value in (case.path_parameters or {}).items():
        if _as_int(value) in protected.get(name, ()):
            return False
    return True
