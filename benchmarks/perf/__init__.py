"""The pieces of ``benchmarks/run.py``: one module per measurement, plus the shared synthetic data.

- ``streams``: seeded synthetic labelled streams (spike, level shift, noise burst).
- ``reference``: the article's model as written, trained and scored with Keras fit/predict.
- ``flops``: analytic matmul FLOPs of an LSTM autoencoder and the machine's float32 matmul rate.
- ``training``: train time and event F1, ours against the reference, on one labelled stream.
- ``scoring``: our scoring throughput and the share of the matmul rate it reaches.
- ``many``: many streams at once through ``anomaly.model.fleet`` against one at a time.
- ``memory``: peak RSS of a process training many tiny models (run as a subprocess).

And of ``benchmarks/fleet.py``:

- ``fleet_data``: a synthetic fleet of labelled, dirty CSV streams built from the sample's signals.
- ``fleet_worker``: one measured run (or the I/O floor) in a fresh process.
"""
