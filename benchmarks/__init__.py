"""Benchmarks for ``dense``: how close one layer step gets to the hardware limit.

Run the whole suite from the repository root (it is not part of the installed
package)::

    python -m benchmarks                 # full run, writes benchmarks/results/latest.json
    python -m benchmarks --threads 1     # one BLAS thread: the steadiest ratios
    python -m benchmarks --quick         # a small version that finishes in seconds

``python -m benchmarks --help`` lists every option. PyTorch and scikit-learn are
optional: a comparison whose library is missing is reported as skipped.
"""
