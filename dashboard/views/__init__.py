"""The dashboard's pages: one module per page, each exposing `render()`; `dashboard/app.py` lists them.

Why this folder is not called `pages/`: Streamlit treats a folder of that name beside the entry
script as a legacy multipage app, in which a URL naming a file runs that file directly, skipping
app.py and its login gate. Here pages are functions registered with `st.navigation` in app.py, and
every `render()` still checks the signed-in user's role itself, first.
"""
