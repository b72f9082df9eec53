"""Login: username and password, checked against Earful's users table by core.users.authenticate."""

from __future__ import annotations

import streamlit as st

from dashboard import ui


def render() -> None:
    app = ui.load_app()
    if app is None:
        return
    st.title(app.settings.dashboard.title)
    with st.form("login"):
        username = st.text_input("Username", max_chars=100, autocomplete="username")
        password = st.text_input("Password", type="password", max_chars=200, autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary", icon=":material/login:")
    if submitted:
        if ui.sign_in(app, username, password):
            st.rerun()
        st.error("Wrong username or password.", icon=":material/error:")
