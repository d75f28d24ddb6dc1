"""The sidebar's sign-in box and who is signed in, for the page that stores verdicts.

A password sign-in lasts as long as the browser tab's Streamlit session (reloading the page asks
again); the name lives in server-side session state, which a browser cannot set. An OIDC sign-in is
Streamlit's own (``st.login``): an identity cookie, trusted only when ``[auth]`` is configured.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import streamlit as st

from anomaly.errors import ConfigError
from dashboard.access import MAX_NAME_LENGTH, AccessConfig, access_config, authenticate

_ANALYST_KEY = "signed_in_analyst"
ENABLE_HINT = (
    "Read-only. To enable verdicts, configure a sign-in (`anomaly dashboard hash-password`, README: Access)."
)


def _secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:
        return {}


def access() -> AccessConfig:
    """The sign-in methods configured in the environment and Streamlit secrets (see ``access``)."""
    return access_config(os.environ, _secrets())


def _oidc_identity() -> str | None:
    if not st.user.get("is_logged_in"):
        return None
    identity = st.user.get("email") or st.user.get("name") or st.user.get("sub")
    return str(identity)[:MAX_NAME_LENGTH] if identity else None


def current_analyst(config: AccessConfig) -> str | None:
    """Who is signed in to this session under ``config``, or None."""
    if config.oidc_providers:
        identity = _oidc_identity()
        if identity is not None:
            return identity
    return st.session_state.get(_ANALYST_KEY) if config.passwords else None


def signed_in() -> str | None:
    """The analyst signed in to this session; None also when the sign-in configuration is broken
    (``app.py`` reports that)."""
    try:
        return current_analyst(access())
    except ConfigError:
        return None


def _sign_out(config: AccessConfig) -> None:
    st.session_state.pop(_ANALYST_KEY, None)
    if config.oidc_providers and _oidc_identity() is not None:
        st.logout()
    st.rerun()


def _password_form(config: AccessConfig) -> None:
    with st.form("sign_in_form", clear_on_submit=True, border=False):
        name = st.text_input(
            "Name",
            key="sign_in_name",
            max_chars=MAX_NAME_LENGTH,
            help=None if config.users else "recorded with each verdict you give",
        )
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", icon=":material/login:", key="sign_in")
    if submitted:
        analyst = authenticate(config, name, password)
        if analyst is None:
            st.error("Wrong name or password.")
        else:
            st.session_state[_ANALYST_KEY] = analyst
            st.rerun()


def _authlib_installed() -> bool:
    """Whether ``st.login`` can work: Streamlit's OIDC flow needs Authlib (the ``oidc`` extra)."""
    return importlib.util.find_spec("authlib") is not None


def _oidc_buttons(config: AccessConfig) -> None:
    if not _authlib_installed():
        st.caption("Single sign-on is configured but needs Authlib: `pip install 'anomaly[oidc]'`.")
        return
    for provider in config.oidc_providers:
        label = f"Sign in with {provider}" if provider else "Sign in with single sign-on"
        if st.button(label, icon=":material/key:", key=f"sign_in_oidc_{provider or 'default'}"):
            st.login(provider)


def sidebar(config: AccessConfig) -> None:
    """Who is signed in with a sign-out button, else the sign-in methods, else how to enable them."""
    analyst = current_analyst(config)
    if analyst is not None:
        st.caption(f"Signed in as **{analyst}**")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            _sign_out(config)
        return
    if not config.enabled:
        st.caption(ENABLE_HINT)
        return
    with st.expander("Sign in to confirm or dismiss", icon=":material/login:"):
        if config.passwords:
            _password_form(config)
        if config.oidc_providers:
            _oidc_buttons(config)
