"""Benchmarks for ``dense``: how close one layer step gets to its three matrix products.

Run the whole suite from the repository root (it is not part of the installed
package)::

    python -m benchmarks --threads 1     # one BLAS thread: the steadiest ratios
    python -m benchmarks                 # NumPy's BLAS thread count, given to PyTorch too
    python -m benchmarks --quick         # a small version that finishes in a minute
    python -m benchmarks.report          # the report of the committed results again

A full run writes ``benchmarks/results/latest.json``, a quick one ``quick.json``.
``python -m benchmarks --help`` lists every option. PyTorch and scikit-learn are
optional: a comparison whose library is missing is reported as skipped.
"""
