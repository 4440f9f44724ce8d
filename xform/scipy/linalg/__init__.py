"""``xform.scipy.linalg``: ``jax.scipy.linalg``'s names, as composites of
``xform.lax.linalg`` (the ``linalg`` meta-operators), ``xform.numpy`` and ``xform.lax``.

Modules: ``_solves`` (Cholesky, LU, solves, ``inv``, ``det``), ``_decomp`` (SVD, eigh,
QR, ``rsf2csf``), ``_schur`` (``schur``, ``hessenberg`` and the Schur-based ``sqrtm``,
``funm``, ``solve_sylvester``; CPU only, as in JAX), ``_polar`` (QDWH), ``_expm``,
``_tridiagonal`` (``eigh_tridiagonal``) and ``_matrices`` (special matrices).
"""
from ._solves import (cho_factor, cho_solve, cholesky, det, inv, lu, lu_factor, lu_solve,
                      solve, solve_triangular)
from ._decomp import eigh, qr, qr_multiply, rsf2csf, svd
from ._schur import funm, hessenberg, schur, solve_sylvester, sqrtm
from ._polar import polar
from ._expm import expm, expm_frechet
from ._tridiagonal import eigh_tridiagonal
from ._matrices import (block_diag, circulant, companion, convolution_matrix, dft, fiedler,
                        fiedler_companion, hadamard, hankel, helmert, hilbert, invhilbert,
                        invpascal, leslie, pascal, toeplitz)

__all__ = [
    "block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion",
    "convolution_matrix", "det", "dft", "eigh", "eigh_tridiagonal", "expm", "expm_frechet",
    "fiedler", "fiedler_companion", "funm", "hadamard", "hankel", "helmert", "hessenberg",
    "hilbert", "inv", "invhilbert", "invpascal", "leslie", "lu", "lu_factor", "lu_solve",
    "pascal", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "solve", "solve_sylvester",
    "solve_triangular", "sqrtm", "svd", "toeplitz",
]
