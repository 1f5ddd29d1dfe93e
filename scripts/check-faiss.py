#!/usr/bin/env python3
"""Checks a FAISS IndexBinaryFlat export against tqhash's own top-k (not part of npm test; needs python3-faiss).

Usage: /usr/bin/python3 scripts/check-faiss.py INDEX QUERIES.bin EXPECTED.json
  INDEX         file from CodeDB.exportFaissBinaryFlat
  QUERIES.bin   query codes as packed bytes (CodeDB.exportPackedBytes layout: nq x code_size)
  EXPECTED.json {"k": k, "distances": [[...], ...]} from CodeDB.search
FAISS breaks distance ties in its own order, so the distances per rank are compared, and the indices wherever the
distance at that rank is not tied with a neighbouring rank.
"""
import json
import sys

import faiss
import numpy as np

index_path, queries_path, expected_path = sys.argv[1:4]
index = faiss.read_index_binary(index_path)
assert isinstance(index, faiss.IndexBinaryFlat), type(index)
exp = json.load(open(expected_path))
q = np.fromfile(queries_path, dtype=np.uint8).reshape(-1, index.code_size)
D, I = index.search(q, exp["k"])
want_d = np.array(exp["distances"])
want_i = np.array(exp["indices"])
assert (D == want_d).all(), "distances differ"
unique = np.ones_like(want_d, dtype=bool)
unique[:, 1:] &= want_d[:, 1:] != want_d[:, :-1]
unique[:, :-1] &= want_d[:, :-1] != want_d[:, 1:]
assert (I[unique] == want_i[unique]).all(), "indices differ where distances are not tied"
print(f"faiss {faiss.__version__}: {type(index).__name__} d={index.d} ntotal={index.ntotal}; "
      f"{q.shape[0]} queries x k={exp['k']}: distances equal, {int(unique.sum())} untied indices equal")
