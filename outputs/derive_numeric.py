"""Numeric functions derived and verified by derive (generated file: do not edit).

Coupling block (seed's equation (1)), vectors along the last axis, batch axes in front:
F and G are callables mapping x2 (..., k) to (..., k); s is an array of k scales.
"""
import numpy


def coupling_forward(x, F, G, s):
    """y = (y1, y2) of the block."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val = F(x2)
    G_val = G(x2)
    y1 = numpy.broadcast_to(F_val + x1*numpy.exp(G_val), x1.shape)
    y2 = numpy.broadcast_to(x2*numpy.exp(s), x2.shape)
    return numpy.concatenate([y1, y2], axis=-1)


def coupling_inverse(y, F, G, s):
    """x = (x1, x2) from y: first x2 from y2, then x1."""
    k = y.shape[-1] // 2
    y1, y2 = y[..., :k], y[..., k:]
    x2 = numpy.broadcast_to(y2*numpy.exp(-s), y2.shape)
    F_val = F(x2)
    G_val = G(x2)
    x1 = numpy.broadcast_to((-F_val + y1)*numpy.exp(-G_val), y1.shape)
    return numpy.concatenate([x1, x2], axis=-1)


def coupling_logdet(x, F, G, s):
    """log|det dy/dx|, a sum of logs (no product of exponentials); calls only the conditioners it uses."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    G_val = G(x2)
    return numpy.sum(numpy.broadcast_to(numpy.asarray(G_val, x2.dtype), x2.shape), axis=-1) + numpy.sum(numpy.broadcast_to(numpy.asarray(s, x2.dtype), x2.shape[-1:]), axis=-1)


def coupling_forward_and_logdet(x, F, G, s):
    """(y, log|det dy/dx|), each conditioner called once for both."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val = F(x2)
    G_val = G(x2)
    y1 = numpy.broadcast_to(F_val + x1*numpy.exp(G_val), x1.shape)
    y2 = numpy.broadcast_to(x2*numpy.exp(s), x2.shape)
    return numpy.concatenate([y1, y2], axis=-1), numpy.sum(numpy.broadcast_to(numpy.asarray(G_val, x2.dtype), x2.shape), axis=-1) + numpy.sum(numpy.broadcast_to(numpy.asarray(s, x2.dtype), x2.shape[-1:]), axis=-1)


def coupling_inverse_and_logdet(y, F, G, s):
    """(x, log|det dx/dy|) = (x, -log|det dy/dx| at that x), each conditioner called once for both."""
    k = y.shape[-1] // 2
    y1, y2 = y[..., :k], y[..., k:]
    x2 = numpy.broadcast_to(y2*numpy.exp(-s), y2.shape)
    F_val = F(x2)
    G_val = G(x2)
    x1 = numpy.broadcast_to((-F_val + y1)*numpy.exp(-G_val), y1.shape)
    return numpy.concatenate([x1, x2], axis=-1), -(numpy.sum(numpy.broadcast_to(numpy.asarray(G_val, x2.dtype), x2.shape), axis=-1) + numpy.sum(numpy.broadcast_to(numpy.asarray(s, x2.dtype), x2.shape[-1:]), axis=-1))


def kl_gaussian_standard(mu, sigma):
    """KL(N(mu, sigma^2) || prior) per dimension (seed 2.3), in its stable form (accurate near the prior)."""
    return (1/2)*mu**2 + (1/2)*(sigma - 1)*(sigma + 1) - 1/2*numpy.log1p((sigma - 1)*(sigma + 1))


def reparam_gradient(mu, sigma, epsilon):
    """Per-sample reparameterisation gradient (d t/d mu, d t/d sigma) at z = mu + sigma epsilon (seed 2.4)."""
    return (epsilon*sigma + mu) + 0 * epsilon, (epsilon**2*sigma + epsilon*mu - 1/sigma) + 0 * epsilon


def free_energy_conjugate(x, m, v, tau):
    """F(q) for p(z) = N(0, 1), p(x|z) = N(x; z, tau^2), q = N(m, v) (seed 2.1)."""
    return -1/2*m**2 - 1/2*v + (1/2)*numpy.log(tau**(-2.0)) + (1/2)*numpy.log(v) - 1/2*numpy.log(numpy.pi) - 1/2*numpy.log(2) + 1/2 - 1/2*(m**2 - 2*m*x + v + x**2)/tau**2


# ---- flow layers -------------------------------------------------------------------------------------------
# <layer>_forward(x, ...), <layer>_logdet(x, ...), <layer>_forward_and_logdet(x, ...) and, where derived,
# <layer>_inverse(y, ...).  Features on the last axis, any batch axes in front; a coupling block splits them
# into halves x_1 = x[..., :k], x_2 = x[..., k:]; conditioners (F, G, mu, ...) are callables on arrays of that
# shape; parameters are arrays named as in the layer's definition.
import numpy as np

def _softplus(z):
    return np.logaddexp(0.0, z)


def _logcosh(z):
    a = np.abs(z)
    return a + np.log1p(np.exp(-2.0 * a)) - 0.6931471805599453


def _batch(value, x, axes=1):
    """A log-determinant as one value per batch entry, in x's floating dtype."""
    value = np.asarray(value)
    if value.dtype.kind != "f":
        value = value.astype(x.dtype if x.dtype.kind == "f" else float)
    return np.broadcast_to(value, np.shape(x)[:np.ndim(x) - axes]).copy()


def _positions(total, x):
    """A log-determinant summed over the H·W positions of an image (axes -3, -2 of x)."""
    return _batch(total.sum(axis=(-2, -1)) if np.ndim(total) > np.ndim(x) - 3 else total, x, 3)


def _row(x):
    """A row of zeros shaped like one row of x: what a log-determinant of the parameters alone is given
    (one value, which adds to every row of the batch)."""
    return np.zeros(np.shape(x)[-1], np.asarray(x).dtype)


def _affine(f, x):
    """f(x) for a map f that is affine in x, as one matrix product when x has more rows than features:
    f at 0 gives the offset, f at the d unit vectors the matrix (d + 1 evaluations of f itself)."""
    d = x.shape[-1]
    if np.size(x) <= d * d:
        return f(x)
    dtype = x.dtype if x.dtype.kind == "f" else float
    offset = f(np.zeros((1, d), dtype))
    out = x @ (f(np.eye(d, dtype=dtype)) - offset)
    return out + offset if np.any(offset) else out


def affine_forward(x, a, b):
    d = x.shape[-1]
    return ((a * x) + b)


def affine_logdet(x, a, b):
    d = x.shape[-1]
    return _batch(np.sum(np.log(np.abs(a)), axis=-1), x)


def affine_inverse(y, a, b):
    d = y.shape[-1]
    x = ((a) ** (-1) * ((-1 * b) + y))
    return x


def affine_forward_and_logdet(x, a, b):
    d = x.shape[-1]
    return ((a * x) + b), _batch(np.sum(np.log(np.abs(a)), axis=-1), x)


def affine_inverse_and_logdet(y, a, b):
    d = y.shape[-1]
    x = ((a) ** (-1) * ((-1 * b) + y))
    return x, -_batch(np.sum(np.log(np.abs(a)), axis=-1), y)


def exp_forward(x):
    d = x.shape[-1]
    return np.exp(x)


def exp_logdet(x):
    d = x.shape[-1]
    return _batch(np.sum(x, axis=-1), x)


def exp_inverse(y):
    d = y.shape[-1]
    x = np.log(y)
    return x


def exp_forward_and_logdet(x):
    d = x.shape[-1]
    return np.exp(x), _batch(np.sum(x, axis=-1), x)


def exp_inverse_and_logdet(y):
    d = y.shape[-1]
    x = np.log(y)
    return x, -_batch(np.sum(x, axis=-1), y)


def softplus_forward(x):
    d = x.shape[-1]
    return np.log((1 + np.exp(x)))


def softplus_logdet(x):
    d = x.shape[-1]
    return _batch(((-1 * np.sum(_softplus(x), axis=-1)) + np.sum(x, axis=-1)), x)


def softplus_inverse(y):
    d = y.shape[-1]
    x = np.log((-1 + np.exp(y)))
    return x


def softplus_forward_and_logdet(x):
    d = x.shape[-1]
    return np.log((1 + np.exp(x))), _batch(((-1 * np.sum(_softplus(x), axis=-1)) + np.sum(x, axis=-1)), x)


def softplus_inverse_and_logdet(y):
    d = y.shape[-1]
    x = np.log((-1 + np.exp(y)))
    return x, -_batch(((-1 * np.sum(_softplus(x), axis=-1)) + np.sum(x, axis=-1)), y)


def sigmoid_forward(x):
    d = x.shape[-1]
    return ((1 + np.exp((-1 * x)))) ** (-1)


def sigmoid_logdet(x):
    d = x.shape[-1]
    return _batch(((-1 * np.sum(x, axis=-1)) + (-2 * np.sum(_softplus((-1 * x)), axis=-1))), x)


def sigmoid_inverse(y):
    d = y.shape[-1]
    x = (-1 * np.log((-1 + (y) ** (-1))))
    return x


def sigmoid_forward_and_logdet(x):
    d = x.shape[-1]
    _e0 = (-1 * x)
    return ((1 + np.exp(_e0))) ** (-1), _batch(((-1 * np.sum(x, axis=-1)) + (-2 * np.sum(_softplus(_e0), axis=-1))), x)


def sigmoid_inverse_and_logdet(y):
    d = y.shape[-1]
    x = (-1 * np.log((-1 + (y) ** (-1))))
    return x, -_batch(((-1 * np.sum(x, axis=-1)) + (-2 * np.sum(_softplus((-1 * x)), axis=-1))), y)


def tanh_forward(x):
    d = x.shape[-1]
    return np.tanh(x)


def tanh_logdet(x):
    d = x.shape[-1]
    return _batch((-2 * np.sum(_logcosh(x), axis=-1)), x)


def tanh_inverse(y):
    d = y.shape[-1]
    x = np.arctanh(y)
    return x


def tanh_forward_and_logdet(x):
    d = x.shape[-1]
    return np.tanh(x), _batch((-2 * np.sum(_logcosh(x), axis=-1)), x)


def tanh_inverse_and_logdet(y):
    d = y.shape[-1]
    x = np.arctanh(y)
    return x, -_batch((-2 * np.sum(_logcosh(x), axis=-1)), y)


def arcsinh_forward(x):
    d = x.shape[-1]
    return np.arcsinh(x)


def arcsinh_logdet(x):
    d = x.shape[-1]
    return _batch((-0.5 * np.sum(np.log((1 + (x) ** (2))), axis=-1)), x)


def arcsinh_inverse(y):
    d = y.shape[-1]
    x = np.sinh(y)
    return x


def arcsinh_forward_and_logdet(x):
    d = x.shape[-1]
    return np.arcsinh(x), _batch((-0.5 * np.sum(np.log((1 + (x) ** (2))), axis=-1)), x)


def arcsinh_inverse_and_logdet(y):
    d = y.shape[-1]
    x = np.sinh(y)
    return x, -_batch((-0.5 * np.sum(np.log((1 + (x) ** (2))), axis=-1)), y)


def sinh_arcsinh_forward(x, epsilon, delta):
    d = x.shape[-1]
    return np.sinh(((-1 * epsilon) + (delta * np.arcsinh(x))))


def sinh_arcsinh_logdet(x, epsilon, delta):
    d = x.shape[-1]
    return _batch(((-0.5 * np.sum(np.log((1 + (x) ** (2))), axis=-1)) + np.sum(np.log(np.abs(delta)), axis=-1) + np.sum(np.log(np.cosh(((-1 * epsilon) + (delta * np.arcsinh(x))))), axis=-1)), x)


def sinh_arcsinh_inverse(y, epsilon, delta):
    d = y.shape[-1]
    x = np.sinh(((delta) ** (-1) * (epsilon + np.arcsinh(y))))
    return x


def sinh_arcsinh_forward_and_logdet(x, epsilon, delta):
    d = x.shape[-1]
    _e0 = np.arcsinh(x)
    _e1 = (delta * _e0)
    _e2 = ((-1 * epsilon) + _e1)
    return np.sinh(_e2), _batch(((-0.5 * np.sum(np.log((1 + (x) ** (2))), axis=-1)) + np.sum(np.log(np.abs(delta)), axis=-1) + np.sum(np.log(np.cosh(_e2)), axis=-1)), x)


def sinh_arcsinh_inverse_and_logdet(y, epsilon, delta):
    d = y.shape[-1]
    x = np.sinh(((delta) ** (-1) * (epsilon + np.arcsinh(y))))
    return x, -_batch(((-0.5 * np.sum(np.log((1 + (x) ** (2))), axis=-1)) + np.sum(np.log(np.abs(delta)), axis=-1) + np.sum(np.log(np.cosh(((-1 * epsilon) + (delta * np.arcsinh(x))))), axis=-1)), y)


def actnorm_forward(x, b, ell):
    d = x.shape[-1]
    return ((b + x) * np.exp(ell))


def actnorm_logdet(x, b, ell):
    d = x.shape[-1]
    return _batch(np.sum(ell, axis=-1), x)


def actnorm_inverse(y, b, ell):
    d = y.shape[-1]
    x = ((-1 * b) + (y * np.exp((-1 * ell))))
    return x


def actnorm_forward_and_logdet(x, b, ell):
    d = x.shape[-1]
    return ((b + x) * np.exp(ell)), _batch(np.sum(ell, axis=-1), x)


def actnorm_inverse_and_logdet(y, b, ell):
    d = y.shape[-1]
    x = ((-1 * b) + (y * np.exp((-1 * ell))))
    return x, -_batch(np.sum(ell, axis=-1), y)


def nice_forward(x, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return np.concatenate([(_F_x_2 + x_1), x_2], axis=-1)


def nice_logdet(x, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    return _batch(0, x)


def nice_inverse(y, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return np.concatenate([x_1, x_2], axis=-1)


def nice_forward_and_logdet(x, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return np.concatenate([(_F_x_2 + x_1), x_2], axis=-1), _batch(0, x)


def nice_inverse_and_logdet(y, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return np.concatenate([x_1, x_2], axis=-1), -_batch(0, y)


def realnvp_forward(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([((x_1 * np.exp(_G_x_2)) + _F_x_2), x_2], axis=-1)


def realnvp_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    return _batch(np.sum(_G_x_2, axis=-1), x)


def realnvp_inverse(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * np.exp((-1 * _G_x_2)))
    return np.concatenate([x_1, x_2], axis=-1)


def realnvp_forward_and_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([((x_1 * np.exp(_G_x_2)) + _F_x_2), x_2], axis=-1), _batch(np.sum(_G_x_2, axis=-1), x)


def realnvp_inverse_and_logdet(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * np.exp((-1 * _G_x_2)))
    return np.concatenate([x_1, x_2], axis=-1), -_batch(np.sum(_G_x_2, axis=-1), y)


def glow_forward(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([(((1 + np.exp((-2 + (-1 * _G_x_2))))) ** (-1) * (_F_x_2 + x_1)), x_2], axis=-1)


def glow_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    return _batch((-1 * np.sum(_softplus((-2 + (-1 * _G_x_2))), axis=-1)), x)


def glow_inverse(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = ((-1 * _F_x_2) + ((1 + np.exp((-2 + (-1 * _G_x_2)))) * y_1))
    return np.concatenate([x_1, x_2], axis=-1)


def glow_forward_and_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _e0 = (-1 * _G_x_2)
    _e1 = (-2 + _e0)
    _F_x_2 = F(x_2)
    return np.concatenate([(((1 + np.exp(_e1))) ** (-1) * (_F_x_2 + x_1)), x_2], axis=-1), _batch((-1 * np.sum(_softplus(_e1), axis=-1)), x)


def glow_inverse_and_logdet(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = ((-1 * _F_x_2) + ((1 + np.exp((-2 + (-1 * _G_x_2)))) * y_1))
    return np.concatenate([x_1, x_2], axis=-1), -_batch((-1 * np.sum(_softplus((-2 + (-1 * _G_x_2))), axis=-1)), y)


def seed_forward(x, s, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([((x_1 * np.exp(_G_x_2)) + _F_x_2), (x_2 * np.exp(s))], axis=-1)


def seed_logdet(x, s, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    return _batch((np.sum(_G_x_2, axis=-1) + np.sum(s, axis=-1)), x)


def seed_inverse(y, s, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * np.exp((-1 * s)))
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * np.exp((-1 * _G_x_2)))
    return np.concatenate([x_1, x_2], axis=-1)


def seed_forward_and_logdet(x, s, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([((x_1 * np.exp(_G_x_2)) + _F_x_2), (x_2 * np.exp(s))], axis=-1), _batch((np.sum(_G_x_2, axis=-1) + np.sum(s, axis=-1)), x)


def seed_inverse_and_logdet(y, s, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * np.exp((-1 * s)))
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * np.exp((-1 * _G_x_2)))
    return np.concatenate([x_1, x_2], axis=-1), -_batch((np.sum(_G_x_2, axis=-1) + np.sum(s, axis=-1)), y)


def scaled_nice_forward(x, s, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return np.concatenate([(_F_x_2 + x_1), (x_2 * np.exp(s))], axis=-1)


def scaled_nice_logdet(x, s, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    return _batch(np.sum(s, axis=-1), x)


def scaled_nice_inverse(y, s, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * np.exp((-1 * s)))
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return np.concatenate([x_1, x_2], axis=-1)


def scaled_nice_forward_and_logdet(x, s, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return np.concatenate([(_F_x_2 + x_1), (x_2 * np.exp(s))], axis=-1), _batch(np.sum(s, axis=-1), x)


def scaled_nice_inverse_and_logdet(y, s, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * np.exp((-1 * s)))
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return np.concatenate([x_1, x_2], axis=-1), -_batch(np.sum(s, axis=-1), y)


def gin_forward(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([((x_1 * np.exp((((-1 * (k) ** (-1) * np.sum(_G_x_2, axis=-1)))[..., None] + _G_x_2))) + _F_x_2), x_2], axis=-1)


def gin_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    return _batch(0, x)


def gin_inverse(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * np.exp(((-1 * _G_x_2) + (((k) ** (-1) * np.sum(_G_x_2, axis=-1)))[..., None])))
    return np.concatenate([x_1, x_2], axis=-1)


def gin_forward_and_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return np.concatenate([((x_1 * np.exp((((-1 * (k) ** (-1) * np.sum(_G_x_2, axis=-1)))[..., None] + _G_x_2))) + _F_x_2), x_2], axis=-1), _batch(0, x)


def gin_inverse_and_logdet(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * np.exp(((-1 * _G_x_2) + (((k) ** (-1) * np.sum(_G_x_2, axis=-1)))[..., None])))
    return np.concatenate([x_1, x_2], axis=-1), -_batch(0, y)


def maf_forward(x, mu, alpha):
    d = x.shape[-1]
    _mu_x = mu(x)
    _alpha_x = alpha(x)
    return (((-1 * _mu_x) + x) * np.exp((-1 * _alpha_x)))


def maf_logdet(x, mu, alpha):
    d = x.shape[-1]
    _alpha_x = alpha(x)
    return _batch((-1 * np.sum(_alpha_x, axis=-1)), x)


def maf_inverse(y, mu, alpha):
    d = y.shape[-1]
    x = np.zeros_like(y)
    for t in range(x.shape[-1]):
        x[..., t] = ((y[..., t] * np.exp(alpha(x)[..., t])) + mu(x)[..., t])
    return x


def maf_forward_and_logdet(x, mu, alpha):
    d = x.shape[-1]
    _mu_x = mu(x)
    _alpha_x = alpha(x)
    return (((-1 * _mu_x) + x) * np.exp((-1 * _alpha_x))), _batch((-1 * np.sum(_alpha_x, axis=-1)), x)


def maf_inverse_and_logdet(y, mu, alpha):
    d = y.shape[-1]
    x = np.zeros_like(y)
    for t in range(x.shape[-1]):
        x[..., t] = ((y[..., t] * np.exp(alpha(x)[..., t])) + mu(x)[..., t])
    _alpha_x = alpha(x)
    return x, -_batch((-1 * np.sum(_alpha_x, axis=-1)), y)


def iaf_forward(x, m, s):
    d = x.shape[-1]
    _s_x = s(x)
    _e0 = (-1 * _s_x)
    _e1 = np.exp(_e0)
    _e2 = (1 + _e1)
    _e3 = (_e2) ** (-1)
    _m_x = m(x)
    return ((_e3 * x) + ((1 + (-1 * _e3)) * _m_x))


def iaf_logdet(x, m, s):
    d = x.shape[-1]
    _s_x = s(x)
    return _batch((-1 * np.sum(_softplus((-1 * _s_x)), axis=-1)), x)


def iaf_inverse(y, m, s):
    d = y.shape[-1]
    x = np.zeros_like(y)
    for t in range(x.shape[-1]):
        x[..., t] = ((1 + np.exp((-1 * s(x)[..., t]))) * ((-1 * (1 + (-1 * ((1 + np.exp((-1 * s(x)[..., t])))) ** (-1))) * m(x)[..., t]) + y[..., t]))
    return x


def iaf_forward_and_logdet(x, m, s):
    d = x.shape[-1]
    _s_x = s(x)
    _e0 = (-1 * _s_x)
    _e1 = np.exp(_e0)
    _e2 = (1 + _e1)
    _e3 = (_e2) ** (-1)
    _m_x = m(x)
    return ((_e3 * x) + ((1 + (-1 * _e3)) * _m_x)), _batch((-1 * np.sum(_softplus(_e0), axis=-1)), x)


def iaf_inverse_and_logdet(y, m, s):
    d = y.shape[-1]
    x = np.zeros_like(y)
    for t in range(x.shape[-1]):
        x[..., t] = ((1 + np.exp((-1 * s(x)[..., t]))) * ((-1 * (1 + (-1 * ((1 + np.exp((-1 * s(x)[..., t])))) ** (-1))) * m(x)[..., t]) + y[..., t]))
    _s_x = s(x)
    return x, -_batch((-1 * np.sum(_softplus((-1 * _s_x)), axis=-1)), y)


def planar_forward(x, u, w, b):
    d = x.shape[-1]
    return ((u * (np.tanh((b + (x @ w))))[..., None]) + x)


def planar_logdet(x, u, w, b):
    d = x.shape[-1]
    return _batch(np.log(np.abs((-1 + ((-1 + (np.tanh((b + (x @ w)))) ** (2)) * np.einsum('a,a->', u, w, optimize=True))))), x)


def planar_forward_and_logdet(x, u, w, b):
    d = x.shape[-1]
    _e0 = (x @ w)
    return ((u * (np.tanh((b + _e0)))[..., None]) + x), _batch(np.log(np.abs((-1 + ((-1 + (np.tanh((b + _e0))) ** (2)) * np.einsum('a,a->', u, w, optimize=True))))), x)


def radial_forward(x, x_0, alpha, beta):
    d = x.shape[-1]
    _e0 = ((-1 * x_0) + x)
    return ((beta * (((alpha + np.sqrt(np.sum((_e0) ** (2), axis=-1)))) ** (-1))[..., None] * _e0) + x)


def radial_logdet(x, x_0, alpha, beta):
    d = x.shape[-1]
    _e0 = ((-1 * x_0) + x)
    _e1 = (_e0) ** (2)
    _e2 = np.sum(_e1, axis=-1)
    return _batch(((d * np.log(np.abs((1 + (beta * ((alpha + np.sqrt(_e2))) ** (-1)))))) + np.log(np.abs((-1 + (beta * ((alpha + np.sqrt(_e2))) ** (-1) * ((beta + alpha + np.sqrt(_e2))) ** (-1) * np.sqrt(_e2)))))), x)


def radial_forward_and_logdet(x, x_0, alpha, beta):
    d = x.shape[-1]
    _e0 = ((-1 * x_0) + x)
    _e1 = (_e0) ** (2)
    _e2 = np.sum(_e1, axis=-1)
    return ((beta * (((alpha + np.sqrt(_e2))) ** (-1))[..., None] * _e0) + x), _batch(((d * np.log(np.abs((1 + (beta * ((alpha + np.sqrt(_e2))) ** (-1)))))) + np.log(np.abs((-1 + (beta * ((alpha + np.sqrt(_e2))) ** (-1) * ((beta + alpha + np.sqrt(_e2))) ** (-1) * np.sqrt(_e2)))))), x)


def sylvester_forward(x, A, B, c):
    d = x.shape[-1]
    return (x + (np.tanh((c + (x @ B.T))) @ A.T))


def sylvester_logdet(x, A, B, c):
    d = x.shape[-1]
    return _batch(np.linalg.slogdet(((((1 + (-1 * (np.tanh((c + (x @ B.T)))) ** (2))))[..., :, None] * np.einsum('bc,ac->ab', np.transpose(A, [1, 0]), B, optimize=True)) + np.eye(c.shape[0], dtype=bool)))[1], x)


def sylvester_forward_and_logdet(x, A, B, c):
    d = x.shape[-1]
    _e0 = (x @ B.T)
    _e1 = (c + _e0)
    _e2 = np.tanh(_e1)
    return (x + (_e2 @ A.T)), _batch(np.linalg.slogdet(((((1 + (-1 * (_e2) ** (2))))[..., :, None] * np.einsum('bc,ac->ab', np.transpose(A, [1, 0]), B, optimize=True)) + np.eye(c.shape[0], dtype=bool)))[1], x)


def householder_forward(x, v):
    d = x.shape[-1]
    return ((-2 * (np.sum((v) ** (2), axis=-1)) ** (-1) * v * ((x @ v))[..., None]) + x)


def householder_logdet(x, v):
    d = x.shape[-1]
    return _batch(0, x)


def householder_inverse(y, v):
    d = y.shape[-1]
    x = ((-2 * (np.sum((v) ** (2), axis=-1)) ** (-1) * v * ((y @ v))[..., None]) + y)
    return x


def householder_forward_and_logdet(x, v):
    d = x.shape[-1]
    return ((-2 * (np.sum((v) ** (2), axis=-1)) ** (-1) * v * ((x @ v))[..., None]) + x), _batch(0, x)


def householder_inverse_and_logdet(y, v):
    d = y.shape[-1]
    x = ((-2 * (np.sum((v) ** (2), axis=-1)) ** (-1) * v * ((y @ v))[..., None]) + y)
    return x, -_batch(0, y)


def reverse_forward(x):
    d = x.shape[-1]
    return x[..., ::-1]


def reverse_logdet(x):
    d = x.shape[-1]
    return _batch(0, x)


def reverse_inverse(y):
    d = y.shape[-1]
    x = y[..., ::-1]
    return x


def reverse_forward_and_logdet(x):
    d = x.shape[-1]
    return x[..., ::-1], _batch(0, x)


def reverse_inverse_and_logdet(y):
    d = y.shape[-1]
    x = y[..., ::-1]
    return x, -_batch(0, y)


def _upper_forward(x, s, U):
    d = x.shape[-1]
    return ((s * x) + (x @ (U * np.tri(d, d, -1, dtype=bool).T).T))


def upper_forward(x, s, U):
    return _affine(lambda h: _upper_forward(h, s, U), x)


def upper_logdet(x, s, U):
    d = x.shape[-1]
    return _batch(np.sum(np.log(np.abs(s)), axis=-1), x)


def _upper_inverse(y, s, U):
    d = y.shape[-1]
    x = np.zeros_like(y)
    for t in reversed(range(x.shape[-1])):
        x[..., t] = ((s[t]) ** (-1) * ((-1 * (x @ (U[t, :] * (np.arange(d) > t)))) + y[..., t]))
    return x


def upper_inverse(y, s, U):
    return _affine(lambda h: _upper_inverse(h, s, U), y)


def upper_forward_and_logdet(x, s, U):
    return upper_forward(x, s, U), upper_logdet(x, s, U)


def upper_inverse_and_logdet(y, s, U):
    return upper_inverse(y, s, U), -upper_logdet(y, s, U)


def _unit_lower_forward(x, L):
    d = x.shape[-1]
    return (x + (x @ (L * np.tri(d, d, -1, dtype=bool)).T))


def unit_lower_forward(x, L):
    return _affine(lambda h: _unit_lower_forward(h, L), x)


def unit_lower_logdet(x, L):
    d = x.shape[-1]
    return _batch(0, x)


def _unit_lower_inverse(y, L):
    d = y.shape[-1]
    x = np.zeros_like(y)
    for t in range(x.shape[-1]):
        x[..., t] = ((-1 * (x @ (L[t, :] * (np.arange(d) < t)))) + y[..., t])
    return x


def unit_lower_inverse(y, L):
    return _affine(lambda h: _unit_lower_inverse(h, L), y)


def unit_lower_forward_and_logdet(x, L):
    return unit_lower_forward(x, L), unit_lower_logdet(x, L)


def unit_lower_inverse_and_logdet(y, L):
    return unit_lower_inverse(y, L), -unit_lower_logdet(y, L)


def lu_linear_forward(x, s, U, L):
    h = x
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(z, s, U), L)), h)
    return h


def lu_linear_logdet(x, s, U, L):
    h, total = x, 0.0
    total = total + upper_logdet(_row(h), s, U)
    total = total + unit_lower_logdet(_row(h), L)
    total = total + reverse_logdet(_row(h))
    return _batch(total, x)


def lu_linear_inverse(y, s, U, L):
    h = y
    h = _affine(lambda z: upper_inverse(unit_lower_inverse(reverse_inverse(z), L), s, U), h)
    return h


def lu_linear_inverse_and_logdet(y, s, U, L):
    x = lu_linear_inverse(y, s, U, L)
    return x, -lu_linear_logdet(x, s, U, L)


def lu_linear_forward_and_logdet(x, s, U, L):
    h, total = x, 0.0
    total = total + upper_logdet(_row(h), s, U)
    total = total + unit_lower_logdet(_row(h), L)
    total = total + reverse_logdet(_row(h))
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(z, s, U), L)), h)
    return h, _batch(total, x)


def conv1x1_forward(x, s, U, L):
    h = x
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(z, s, U), L)), h)
    return h


def conv1x1_logdet(x, s, U, L):
    h, total = x, 0.0
    total = total + upper_logdet(h, s, U)
    total = total + unit_lower_logdet(h, L)
    total = total + reverse_logdet(h)
    return _positions(total, x)


def conv1x1_inverse(y, s, U, L):
    h = y
    h = _affine(lambda z: upper_inverse(unit_lower_inverse(reverse_inverse(z), L), s, U), h)
    return h


def conv1x1_inverse_and_logdet(y, s, U, L):
    x = conv1x1_inverse(y, s, U, L)
    return x, -conv1x1_logdet(x, s, U, L)


def conv1x1_forward_and_logdet(x, s, U, L):
    h, total = x, 0.0
    total = total + upper_logdet(h, s, U)
    total = total + unit_lower_logdet(h, L)
    total = total + reverse_logdet(h)
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(z, s, U), L)), h)
    return h, _positions(total, x)


def glow_step_forward(x, b, ell, s, U, L, F, G):
    h = x
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(actnorm_forward(z, b, ell), s, U), L)), h)
    h = glow_forward(h, F, G)
    return h


def glow_step_logdet(x, b, ell, s, U, L, F, G):
    h, total = x, 0.0
    total = total + actnorm_logdet(_row(h), b, ell)
    total = total + upper_logdet(_row(h), s, U)
    total = total + unit_lower_logdet(_row(h), L)
    total = total + reverse_logdet(_row(h))
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(actnorm_forward(z, b, ell), s, U), L)), h)
    total = total + glow_logdet(h, F, G)
    return _batch(total, x)


def glow_step_inverse(y, b, ell, s, U, L, F, G):
    h = y
    h = glow_inverse(h, F, G)
    h = _affine(lambda z: actnorm_inverse(upper_inverse(unit_lower_inverse(reverse_inverse(z), L), s, U), b, ell), h)
    return h


def glow_step_inverse_and_logdet(y, b, ell, s, U, L, F, G):
    x = glow_step_inverse(y, b, ell, s, U, L, F, G)
    return x, -glow_step_logdet(x, b, ell, s, U, L, F, G)


def glow_step_forward_and_logdet(x, b, ell, s, U, L, F, G):
    h, total = x, 0.0
    total = total + actnorm_logdet(_row(h), b, ell)
    total = total + upper_logdet(_row(h), s, U)
    total = total + unit_lower_logdet(_row(h), L)
    total = total + reverse_logdet(_row(h))
    h = _affine(lambda z: reverse_forward(unit_lower_forward(upper_forward(actnorm_forward(z, b, ell), s, U), L)), h)
    h, part = glow_forward_and_logdet(h, F, G)
    total = total + part
    return h, _batch(total, x)


# ---- KL catalogue ------------------------------------------------------------------------------------------
# kl_<p>_<q>(p's parameters, q's parameters): KL(p || q) in nats, element-wise over broadcast arrays; +inf
# where p puts mass where q has none.  The parameterisation of each family is stated in its docstring.
import scipy.constants
import scipy.special


def _kl_arrays(*args):
    """The arguments as float arrays: a division by zero gives inf or NaN, never an exception."""
    return [numpy.asarray(a, dtype=float) for a in args]


def kl_normal_normal(mu_p, sigma_p, mu_q, sigma_q):
    """KL(p || q) in nats for p = Normal(mu_p, sigma_p), q = Normal(mu_q, sigma_q).

    p: mu (mean), sigma (standard deviation).
    q: mu (mean), sigma (standard deviation).
    Arguments broadcast element-wise.
    """
    mu_p, sigma_p, mu_q, sigma_q, = _kl_arrays(mu_p, sigma_p, mu_q, sigma_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-numpy.log1p((sigma_p - sigma_q)/sigma_q) + (1/2)*((mu_p - mu_q)**2 + (sigma_p - sigma_q)*(sigma_p + sigma_q))/sigma_q**2, dtype=float)[()]


def kl_laplace_laplace(mu_p, b_p, mu_q, b_q):
    """KL(p || q) in nats for p = Laplace(mu_p, b_p), q = Laplace(mu_q, b_q).

    p: mu (location), b (scale).
    q: mu (location), b (scale).
    Arguments broadcast element-wise.
    """
    mu_p, b_p, mu_q, b_q, = _kl_arrays(mu_p, b_p, mu_q, b_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-numpy.log1p((b_p - b_q)/b_q) + (b_p*numpy.expm1(-abs(mu_p - mu_q)/b_p) + b_p - b_q + abs(mu_p - mu_q))/b_q, dtype=float)[()]


def kl_exponential_exponential(lambda_p, lambda_q):
    """KL(p || q) in nats for p = Exponential(lambda_p), q = Exponential(lambda_q).

    p: lambda (rate).
    q: lambda (rate).
    Arguments broadcast element-wise.
    """
    lambda_p, lambda_q, = _kl_arrays(lambda_p, lambda_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(numpy.log1p((lambda_p - lambda_q)/lambda_q) + (-lambda_p + lambda_q)/lambda_p, dtype=float)[()]


def kl_gamma_gamma(alpha_p, beta_p, alpha_q, beta_q):
    """KL(p || q) in nats for p = Gamma(alpha_p, beta_p), q = Gamma(alpha_q, beta_q).

    p: alpha (shape), beta (rate).
    q: alpha (shape), beta (rate).
    Arguments broadcast element-wise.
    """
    alpha_p, beta_p, alpha_q, beta_q, = _kl_arrays(alpha_p, beta_p, alpha_q, beta_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-alpha_p*(beta_p - beta_q)/beta_p + alpha_q*numpy.log1p((beta_p - beta_q)/beta_q) + (alpha_p - alpha_q)*scipy.special.polygamma(0, alpha_p) + (-scipy.special.gammaln(alpha_p) + scipy.special.gammaln(alpha_q)), dtype=float)[()]


def kl_beta_beta(alpha_p, beta_p, alpha_q, beta_q):
    """KL(p || q) in nats for p = Beta(alpha_p, beta_p), q = Beta(alpha_q, beta_q).

    p: alpha (first shape), beta (second shape).
    q: alpha (first shape), beta (second shape).
    Arguments broadcast element-wise.
    """
    alpha_p, beta_p, alpha_q, beta_q, = _kl_arrays(alpha_p, beta_p, alpha_q, beta_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(((alpha_p - alpha_q)*scipy.special.polygamma(0, alpha_p) + (beta_p - beta_q)*scipy.special.polygamma(0, beta_p) + (-alpha_p + alpha_q - beta_p + beta_q)*scipy.special.polygamma(0, alpha_p + beta_p)) + (-scipy.special.gammaln(alpha_p) + scipy.special.gammaln(alpha_q) - scipy.special.gammaln(beta_p) + scipy.special.gammaln(beta_q) + scipy.special.gammaln(alpha_p + beta_p) - scipy.special.gammaln(alpha_q + beta_q)), dtype=float)[()]


def kl_lognormal_lognormal(mu_p, sigma_p, mu_q, sigma_q):
    """KL(p || q) in nats for p = LogNormal(mu_p, sigma_p), q = LogNormal(mu_q, sigma_q).

    p: mu (mean of log x), sigma (standard deviation of log x).
    q: mu (mean of log x), sigma (standard deviation of log x).
    Arguments broadcast element-wise.
    """
    mu_p, sigma_p, mu_q, sigma_q, = _kl_arrays(mu_p, sigma_p, mu_q, sigma_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-numpy.log1p((sigma_p - sigma_q)/sigma_q) + (1/2)*((mu_p - mu_q)**2 + (sigma_p - sigma_q)*(sigma_p + sigma_q))/sigma_q**2, dtype=float)[()]


def kl_cauchy_cauchy(x0_p, gamma_p, x0_q, gamma_q):
    """KL(p || q) in nats for p = Cauchy(x0_p, gamma_p), q = Cauchy(x0_q, gamma_q).

    p: x0 (location), gamma (scale).
    q: x0 (location), gamma (scale).
    Arguments broadcast element-wise.
    """
    x0_p, gamma_p, x0_q, gamma_q, = _kl_arrays(x0_p, gamma_p, x0_q, gamma_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(numpy.log1p((1/4)*((gamma_p - gamma_q)**2 + (x0_p - x0_q)**2)/(gamma_p*gamma_q)), dtype=float)[()]


def kl_gumbel_gumbel(mu_p, beta_p, mu_q, beta_q):
    """KL(p || q) in nats for p = Gumbel(mu_p, beta_p), q = Gumbel(mu_q, beta_q).

    p: mu (location), beta (scale).
    q: mu (location), beta (scale).
    Arguments broadcast element-wise.
    """
    mu_p, beta_p, mu_q, beta_q, = _kl_arrays(mu_p, beta_p, mu_q, beta_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-numpy.log1p((beta_p - beta_q)/beta_q) + (beta_q*numpy.expm1(scipy.special.gammaln(2 + (beta_p - beta_q)/beta_q) - mu_p/beta_q + mu_q/beta_q) + mu_p - mu_q + numpy.euler_gamma*(beta_p - beta_q))/beta_q, dtype=float)[()]


def kl_halfnormal_halfnormal(sigma_p, sigma_q):
    """KL(p || q) in nats for p = HalfNormal(sigma_p), q = HalfNormal(sigma_q).

    p: sigma (scale).
    q: sigma (scale).
    Arguments broadcast element-wise.
    """
    sigma_p, sigma_q, = _kl_arrays(sigma_p, sigma_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-numpy.log1p((sigma_p - sigma_q)/sigma_q) + (1/2)*(sigma_p - sigma_q)*(sigma_p + sigma_q)/sigma_q**2, dtype=float)[()]


def kl_uniform_uniform(a_p, b_p, a_q, b_q):
    """KL(p || q) in nats for p = Uniform(a_p, b_p), q = Uniform(a_q, b_q).

    p: a (lower end), b (upper end).
    q: a (lower end), b (upper end).
    Arguments broadcast element-wise. It is +inf unless (a_p >= a_q) & (b_p <= b_q).
    At the edges (a_p = 0, a_p = 1, b_p = 0, b_p = 1, a_q = 0, a_q = 1, b_q = 0, b_q = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    a_p, b_p, a_q, b_q, = _kl_arrays(a_p, b_p, a_q, b_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(numpy.select([numpy.logical_and.reduce((numpy.greater_equal(a_p, a_q),numpy.less_equal(b_p, b_q))),True], [numpy.log1p((a_p - a_q - b_p + b_q)/(-a_p + b_p)),numpy.inf], default=numpy.nan), dtype=float)[()]


def kl_bernoulli_bernoulli(p_p, p_q):
    """KL(p || q) in nats for p = Bernoulli(p_p), q = Bernoulli(p_q).

    p: p (probability of 1).
    q: p (probability of 1).
    Arguments broadcast element-wise.
    At the edges (p_p = 0, p_p = 1, p_q = 0, p_q = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    p_p, p_q, = _kl_arrays(p_p, p_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(scipy.special.xlogy(p_p, p_p) - scipy.special.xlogy(p_p, p_q) + scipy.special.xlogy(1 - p_p, 1 - p_p) + scipy.special.xlogy(p_p - 1, 1 - p_q), dtype=float)[()]


def kl_poisson_poisson(lambda_p, lambda_q):
    """KL(p || q) in nats for p = Poisson(lambda_p), q = Poisson(lambda_q).

    p: lambda (rate).
    q: lambda (rate).
    Arguments broadcast element-wise.
    At the edges (lambda_p = 0, lambda_q = 0) it returns the limit: +inf where p puts mass where q has none.
    """
    lambda_p, lambda_q, = _kl_arrays(lambda_p, lambda_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(-lambda_p + lambda_q + scipy.special.xlogy(lambda_p, lambda_p) - scipy.special.xlogy(lambda_p, lambda_q), dtype=float)[()]


def kl_geometric_geometric(p_p, p_q):
    """KL(p || q) in nats for p = Geometric(p_p), q = Geometric(p_q).

    p: p (probability of success).
    q: p (probability of success).
    Arguments broadcast element-wise.
    At the edges (p_p = 1, p_q = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    p_p, p_q, = _kl_arrays(p_p, p_q)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(numpy.log(p_p) - numpy.log(p_q) - scipy.special.xlogy(p_p - 1, 1 - p_p)/p_p + scipy.special.xlogy(p_p - 1, 1 - p_q)/p_p, dtype=float)[()]


def kl_uniform_beta(a, b, alpha, beta):
    """KL(p || q) in nats for p = Uniform(a, b), q = Beta(alpha, beta).

    p: a (lower end), b (upper end).
    q: alpha (first shape), beta (second shape).
    Arguments broadcast element-wise. It is +inf unless (a >= 0) & (b <= 1).
    At the edges (a = 0, a = 1, b = 0, b = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    a, b, alpha, beta, = _kl_arrays(a, b, alpha, beta)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.asarray(numpy.select([numpy.logical_and.reduce((numpy.greater_equal(a, 0),numpy.less_equal(b, 1))),True], [alpha + beta + (1 - alpha)*scipy.special.xlogy(a, a)/(a - b) + (1 - beta)*scipy.special.xlogy(a - 1, 1 - a)/(a - b) - numpy.log(-a + b) + (scipy.special.gammaln(alpha) + scipy.special.gammaln(beta) - scipy.special.gammaln(alpha + beta)) - 2 + (alpha - 1)*scipy.special.xlogy(b, b)/(a - b) + (beta - 1)*scipy.special.xlogy(b - 1, 1 - b)/(a - b),numpy.inf], default=numpy.nan), dtype=float)[()]


def kl_categorical_categorical(p, q):
    """KL(p || q) in nats for p = Categorical(p), q = Categorical(q); arguments in the order (p, q).

    p, q: probability vectors on the last axis (non-negative, summing to 1), batch axes in front.
    A class with p_j = 0 contributes 0; the result is +inf where some p_j > 0 = q_j.
    """
    p, q = numpy.asarray(p, dtype=float), numpy.asarray(q, dtype=float)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return numpy.sum(scipy.special.xlogy(p, p) - scipy.special.xlogy(p, q), axis=-1)


def kl_mvnormal_mvnormal(mu_p, Sigma_p, mu_q, Sigma_q):
    """KL(MVNormal ‖ MVNormal) in nats; arguments in the order (mu_p, Sigma_p, mu_q, Sigma_q).

    mu_p: mean of p (vector).
    Sigma_p: covariance of p (symmetric positive definite matrix).
    mu_q: mean of q (vector).
    Sigma_q: covariance of q (symmetric positive definite matrix).
    Vectors on the last axis, matrices on the last two axes, batch axes in front (broadcast).
    Sigma is the COVARIANCE (not its inverse, not a Cholesky factor).
    """
    mu_p, Sigma_p, mu_q, Sigma_q = (numpy.asarray(a, dtype=float) for a in (mu_p, Sigma_p, mu_q, Sigma_q))
    d = mu_p.shape[-1]
    return -1/2*d - 1/2*numpy.linalg.slogdet(Sigma_p)[1] + (1/2)*numpy.linalg.slogdet(Sigma_q)[1] + (1/2)*numpy.sum((-mu_q + mu_p)*numpy.linalg.solve(Sigma_q, (-mu_q + mu_p)[..., None])[..., 0], axis=-1) + (1/2)*numpy.trace(numpy.linalg.solve(Sigma_q, Sigma_p), axis1=-2, axis2=-1)


def kl_mvnormal_diag_mvnormal(mu_p, sigma_p, mu_q, Sigma_q):
    """KL(MVNormal (diagonal) ‖ MVNormal) in nats; arguments in the order (mu_p, sigma_p, mu_q, Sigma_q).

    mu_p: mean of p (vector).
    sigma_p: standard deviations of p (positive vector; covariance diag(sigma_p**2)).
    mu_q: mean of q (vector).
    Sigma_q: covariance of q (symmetric positive definite matrix).
    Vectors on the last axis, matrices on the last two axes, batch axes in front (broadcast).
    Sigma is the COVARIANCE (not its inverse, not a Cholesky factor).
    """
    mu_p, sigma_p, mu_q, Sigma_q = (numpy.asarray(a, dtype=float) for a in (mu_p, sigma_p, mu_q, Sigma_q))
    d = mu_p.shape[-1]
    return -1/2*d + (1/2)*numpy.linalg.slogdet(Sigma_q)[1] + (1/2)*numpy.sum((-mu_q + mu_p)*numpy.linalg.solve(Sigma_q, (-mu_q + mu_p)[..., None])[..., 0], axis=-1) + (1/2)*numpy.trace(numpy.linalg.solve(Sigma_q, ((sigma_p**2)[..., None, :]*numpy.eye((sigma_p**2).shape[-1]))), axis1=-2, axis2=-1) - numpy.sum(numpy.log(sigma_p), axis=-1)
