"""``gaussian_kde``: a Gaussian kernel density estimate (a pytree, as JAX's), with Scott's
or Silverman's bandwidth, a scalar, or a callable; ``evaluate``/``logpdf``, the Gaussian
and 1-D box integrals, the integral of a product of two estimates, and ``resample``."""
from __future__ import annotations

from functools import partial

import numpy as np

from ... import numpy as jnp, random
from ...api import vmap
from ...core import where
from ...tree_util import register_pytree_node_class
from ... import special
from .. import linalg
from ._common import check_arraylike

__all__ = ["gaussian_kde"]

_FIELDS = ("neff", "dataset", "weights", "covariance", "inv_cov")


@register_pytree_node_class
class gaussian_kde:
    """A Gaussian kernel density estimate of ``dataset`` (shape ``(d, n)``, or ``(n,)`` for
    one dimension), optionally weighted."""
    __slots__ = _FIELDS

    def __init__(self, dataset, bw_method=None, weights=None):
        check_arraylike("gaussian_kde", dataset)
        dataset = jnp.atleast_2d(dataset)
        if jnp.iscomplexobj(dataset):
            raise NotImplementedError(f"gaussian_kde does not support complex data{where()}")
        if not dataset.size > 1:
            raise ValueError(f"gaussian_kde: `dataset` input should have multiple elements"
                             f"{where()}")
        d, n = dataset.shape
        if weights is not None:
            check_arraylike("gaussian_kde", weights)
            dataset, weights = jnp.promote_dtypes_inexact(dataset, jnp.asarray(weights))
            weights = jnp.atleast_1d(weights)
            weights = weights / jnp.sum(weights)
            if weights.ndim != 1:
                raise ValueError(f"gaussian_kde: `weights` input should be one-dimensional"
                                 f"{where()}")
            if len(weights) != n:
                raise ValueError(f"gaussian_kde: `weights` input should be of length n{where()}")
        else:
            (dataset,) = jnp.promote_dtypes_inexact(dataset)
            weights = jnp.full(n, 1.0 / n, dtype=dataset.dtype)
        self._set("dataset", dataset)
        self._set("weights", weights)
        neff = self._set("neff", 1 / jnp.sum(weights ** 2))
        if bw_method is None or (isinstance(bw_method, str) and bw_method == "scott"):
            factor = jnp.power(neff, -1.0 / (d + 4))
        elif isinstance(bw_method, str) and bw_method == "silverman":
            factor = jnp.power(neff * (d + 2) / 4.0, -1.0 / (d + 4))
        elif jnp.isscalar(bw_method) and not isinstance(bw_method, str):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError(f"gaussian_kde: `bw_method` should be 'scott', 'silverman', a "
                             f"scalar, or a callable{where()}")
        data_cov = jnp.atleast_2d(jnp.cov(dataset, rowvar=1, bias=False, aweights=weights))
        self._set("covariance", data_cov * factor ** 2)
        self._set("inv_cov", jnp.linalg.inv(data_cov) / factor ** 2)

    def _set(self, name, value):
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name, value):
        raise AttributeError(f"gaussian_kde is immutable: cannot set {name!r}")

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in _FIELDS), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        kde = cls.__new__(cls)
        for f, v in zip(_FIELDS, children):
            kde._set(f, v)
        return kde

    @property
    def d(self):
        return self.dataset.shape[0]

    @property
    def n(self):
        return self.dataset.shape[1]

    def evaluate(self, points):
        """The estimated density at ``points`` (shape ``(d, m)``)."""
        check_arraylike("gaussian_kde.evaluate", points)
        points = self._reshape_points(points)
        return _kernel_eval(False, self.dataset.T, self.weights[:, None], points.T,
                            self.inv_cov)[:, 0]

    def __call__(self, points):
        return self.evaluate(points)

    def pdf(self, x):
        """The estimated density (``evaluate``)."""
        return self.evaluate(x)

    def logpdf(self, x):
        """The log of the estimated density."""
        check_arraylike("gaussian_kde.logpdf", x)
        x = self._reshape_points(x)
        return _kernel_eval(True, self.dataset.T, self.weights[:, None], x.T,
                            self.inv_cov)[:, 0]

    def integrate_gaussian(self, mean, cov):
        """The integral of the estimate times a Gaussian of ``mean`` and ``cov``."""
        mean = jnp.atleast_1d(jnp.squeeze(mean))
        cov = jnp.atleast_2d(cov)
        if mean.shape != (self.d,):
            raise ValueError(f"gaussian_kde.integrate_gaussian: mean does not have dimension "
                             f"{self.d}{where()}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"gaussian_kde.integrate_gaussian: covariance does not have "
                             f"dimension {self.d}{where()}")
        chol = linalg.cho_factor(self.covariance + cov)
        norm = 1.0 / (jnp.sqrt(2 * np.pi) ** self.d * jnp.prod(jnp.diag(chol[0])))
        return _kernel_convolve(chol, norm, self.dataset, self.weights, mean)

    def integrate_box_1d(self, low, high):
        """The mass of a 1-D estimate between the scalars ``low`` and ``high``."""
        if self.d != 1:
            raise ValueError(f"gaussian_kde.integrate_box_1d() only handles 1D pdfs{where()}")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError(f"gaussian_kde.integrate_box_1d: the limits of integration must "
                             f"be scalars{where()}")
        return _box_1d(self, low, high)

    def integrate_kde(self, other):
        """The integral of the product of this estimate and ``other``."""
        if other.d != self.d:
            raise ValueError(f"gaussian_kde.integrate_kde: KDEs are not the same "
                             f"dimensionality{where()}")
        chol = linalg.cho_factor(self.covariance + other.covariance)
        norm = 1.0 / (jnp.sqrt(2 * np.pi) ** self.d * jnp.prod(jnp.diag(chol[0])))
        small, large = (self, other) if self.n < other.n else (other, self)
        conv = partial(_kernel_convolve, chol, norm, large.dataset, large.weights)
        return jnp.sum(vmap(conv, in_axes=1)(small.dataset) * small.weights)

    def resample(self, key, shape=()):
        """``shape`` draws from the estimate, as an array of shape ``(d,) + shape``."""
        return _resample(self, key, tuple(shape))

    def integrate_box(self, low_bounds, high_bounds, maxpts=None):
        raise NotImplementedError(f"gaussian_kde.integrate_box: only 1D box integrations are "
                                  f"supported; use `integrate_box_1d`{where()}")

    def set_bandwidth(self, bw_method=None):
        raise NotImplementedError(f"gaussian_kde.set_bandwidth: dynamically changing the "
                                  f"bandwidth method is not supported{where()}")

    def _reshape_points(self, points):
        if jnp.iscomplexobj(points):
            raise NotImplementedError(f"gaussian_kde does not support complex coordinates"
                                      f"{where()}")
        points = jnp.atleast_2d(points)
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                return jnp.reshape(points, (self.d, 1))
            raise ValueError(f"gaussian_kde: points have dimension {d}, dataset has "
                             f"dimension {self.d}{where()}")
        return points


def _box_1d(kde, low, high):
    sigma = jnp.squeeze(jnp.sqrt(kde.covariance))
    low = jnp.squeeze((low - kde.dataset) / sigma)
    high = jnp.squeeze((high - kde.dataset) / sigma)
    return jnp.sum(kde.weights * (special.ndtr(high) - special.ndtr(low)))


def _resample(kde, key, shape):
    ind_key, eps_key = random.split(key)
    ind = random.choice(ind_key, kde.n, shape=shape, p=kde.weights)
    eps = random.multivariate_normal(eps_key, jnp.zeros(kde.d, kde.covariance.dtype),
                                     kde.covariance, shape=shape, dtype=kde.dataset.dtype).T
    return kde.dataset[:, ind] + eps


def _kernel_convolve(chol, norm, target, weights, mean):
    diff = target - mean[:, None]
    arg = 0.5 * jnp.sum(diff * linalg.cho_solve(chol, diff), axis=0)
    return norm * jnp.sum(jnp.exp(-arg) * weights)


def _kernel_eval(in_log, points, values, xi, precision):
    points, values, xi, precision = jnp.promote_dtypes_inexact(points, values, xi, precision)
    d = points.shape[1]
    if xi.shape[1] != d:
        raise ValueError(f"gaussian_kde: points and xi must have same trailing dim{where()}")
    if precision.shape != (d, d):
        raise ValueError(f"gaussian_kde: precision matrix must match data dims{where()}")
    whitening = jnp.linalg.cholesky(precision)
    points = jnp.dot(points, whitening)
    xi = jnp.dot(xi, whitening)
    log_norm = jnp.sum(jnp.log(jnp.diag(whitening))) - 0.5 * d * jnp.log(2 * np.pi)

    def kernel(x_test, x_train, y_train):
        arg = log_norm - 0.5 * jnp.sum(jnp.square(x_train - x_test))
        return jnp.log(y_train) + arg if in_log else y_train * jnp.exp(arg)

    reduce = special.logsumexp if in_log else jnp.sum
    return vmap(lambda x: reduce(vmap(kernel, in_axes=(None, 0, 0))(x, points, values),
                                 axis=0))(xi)
