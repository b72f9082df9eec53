"""Starts the dashboard's Streamlit server with the heavy imports already done:
`python -m dashboard.serve run dashboard/app.py --server.port ...` takes `streamlit`'s own arguments.

Streamlit imports a page's modules on its first run, in the server process, so without this the
first visitor after a start waits for pandas and altair (with altair's schema validator: about
0.5-1 s). They are imported here, before the server serves. The page modules themselves are not:
their `st.cache_data` functions must be created once the Streamlit runtime exists, or they cache
outside it (where `st.cache_data.clear()` does not reach).
"""

from __future__ import annotations

import sys


def preload() -> None:
    """Import what the first render of a chart page would, and build one chart so that altair loads
    and compiles its schema now rather than for the first visitor."""
    import altair as alt
    import pandas as pd

    import core.metrics  # noqa: F401  (SQLAlchemy, the models and the metrics every page reads)

    alt.Chart(pd.DataFrame({"x": [0], "y": [0]})).mark_line().encode(x="x:Q", y="y:Q").to_dict()


def main() -> None:
    preload()
    from streamlit.web import cli

    # As `python -m streamlit` does, so the server sees the same command line.
    sys.argv[0] = "streamlit"
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
