"""Numeric functions derived and verified by derive (generated file: do not edit).

Coupling block (seed's equation (1)), vectors along the last axis, batch axes in front:
F and G are callables mapping x2 (..., k) to (..., k); s is an array of k scales.
"""
import numpy


def coupling_forward(x, F, G, s):
    """y = (y1, y2) of the block."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val, G_val = F(x2), G(x2)
    y1 = numpy.broadcast_to(F_val + x1*numpy.exp(G_val), x1.shape)
    y2 = numpy.broadcast_to(x2*numpy.exp(s), x2.shape)
    return numpy.concatenate([y1, y2], axis=-1)


def coupling_inverse(y, F, G, s):
    """x = (x1, x2) from y: first x2 from y2, then x1."""
    k = y.shape[-1] // 2
    y1, y2 = y[..., :k], y[..., k:]
    x2 = numpy.broadcast_to(y2*numpy.exp(-s), y2.shape)
    F_val, G_val = F(x2), G(x2)
    x1 = numpy.broadcast_to((-F_val + y1)*numpy.exp(-G_val), y1.shape)
    return numpy.concatenate([x1, x2], axis=-1)


def coupling_logdet(x, F, G, s):
    """log|det dy/dx|, a sum of logs (no product of exponentials)."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val, G_val = F(x2), G(x2)
    return numpy.sum(numpy.broadcast_to(G_val, x2.shape), axis=-1) + numpy.sum(numpy.broadcast_to(s, x2.shape), axis=-1)


def kl_gaussian_standard(mu, sigma):
    """KL(N(mu, sigma^2) || prior) per dimension (seed 2.3), in its stable form (accurate near the prior)."""
    return (1/2)*mu**2 + (1/2)*(sigma - 1)*(sigma + 1) - 1/2*numpy.log1p((sigma - 1)*(sigma + 1))


def reparam_gradient(mu, sigma, epsilon):
    """Per-sample reparameterisation gradient (d t/d mu, d t/d sigma) at z = mu + sigma epsilon (seed 2.4)."""
    return (epsilon*sigma + mu) + 0 * epsilon, (epsilon**2*sigma + epsilon*mu - 1/sigma) + 0 * epsilon


def free_energy_conjugate(x, m, v, tau):
    """F(q) for p(z) = N(0, 1), p(x|z) = N(x; z, tau^2), q = N(m, v) (seed 2.1)."""
    return -1/2*m**2 - 1/2*v + (1/2)*numpy.log(tau**(-2.0)) + (1/2)*numpy.log(v) - 1/2*numpy.log(numpy.pi) - 1/2*numpy.log(2) + 1/2 - 1/2*(m**2 - 2*m*x + v + x**2)/tau**2
