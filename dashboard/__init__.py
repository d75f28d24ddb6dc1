"""The Streamlit dashboard: what the pipeline flagged, why, and which anomalies look alike.

It only reads the database the pipeline writes (plus a signed-in analyst's verdict on an anomaly) and
never imports TensorFlow. The roles:

- ``queries``: every SQL statement, as functions of an engine returning DataFrames (no Streamlit).
- ``downsample``: why and how long series are reduced to a few thousand points in the database.
- ``explain``: an anomaly window's error split over time and channels (numpy).
- ``lookalike``: flagged windows of every stream compared by the shape of their values, projected and
  clustered in one space (the encoders' embeddings are per stream and cannot be compared).
- ``charts``: Plotly figure builders (no Streamlit).
- ``data`` and ``widgets``: Streamlit's caches around ``queries`` and the shared selectors.
- ``passwords`` and ``access``: scrypt password hashes and who may change verdicts (no Streamlit);
  ``signin``: the sidebar's sign-in and who is signed in (password, or OIDC through ``st.login``).
- ``app`` and ``views/``: the Streamlit entry point and one page per module.
- ``launch``: starts ``streamlit run`` for the ``anomaly dashboard`` command.
"""
