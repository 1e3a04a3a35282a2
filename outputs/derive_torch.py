"""PyTorch functions and modules derived and verified by derive (generated file: do not edit).

Coupling block (seed's equation (1)), vectors along the last axis, batch axes in front:
F and G are callables (e.g. torch.nn.Module) mapping x2 (..., k) to (..., k); s is a tensor of k scales.
Every tensor made here follows the dtype and device of the input.
"""
import torch


def coupling_forward(x, F, G, s):
    """y = (y1, y2) of the block."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val = F(x2)
    G_val = G(x2)
    y1 = torch.broadcast_to(F_val + x1*torch.exp(G_val), x1.shape)
    y2 = torch.broadcast_to(x2*torch.exp(s), x2.shape)
    return torch.cat([y1, y2], dim=-1)


def coupling_inverse(y, F, G, s):
    """x = (x1, x2) from y: first x2 from y2, then x1."""
    k = y.shape[-1] // 2
    y1, y2 = y[..., :k], y[..., k:]
    x2 = torch.broadcast_to(y2*torch.exp(-s), y2.shape)
    F_val = F(x2)
    G_val = G(x2)
    x1 = torch.broadcast_to((-F_val + y1)*torch.exp(-G_val), y1.shape)
    return torch.cat([x1, x2], dim=-1)


def coupling_logdet(x, F, G, s):
    """log|det dy/dx|, a sum of logs (no product of exponentials); calls only the conditioners it uses."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    G_val = G(x2)
    return torch.sum(torch.broadcast_to(torch.as_tensor(G_val, dtype=x2.dtype, device=x2.device), x2.shape), dim=-1) + torch.sum(torch.broadcast_to(torch.as_tensor(s, dtype=x2.dtype, device=x2.device), x2.shape[-1:]), dim=-1)


def coupling_forward_and_logdet(x, F, G, s):
    """(y, log|det dy/dx|), each conditioner called once for both."""
    k = x.shape[-1] // 2
    x1, x2 = x[..., :k], x[..., k:]
    F_val = F(x2)
    G_val = G(x2)
    y1 = torch.broadcast_to(F_val + x1*torch.exp(G_val), x1.shape)
    y2 = torch.broadcast_to(x2*torch.exp(s), x2.shape)
    return torch.cat([y1, y2], dim=-1), torch.sum(torch.broadcast_to(torch.as_tensor(G_val, dtype=x2.dtype, device=x2.device), x2.shape), dim=-1) + torch.sum(torch.broadcast_to(torch.as_tensor(s, dtype=x2.dtype, device=x2.device), x2.shape[-1:]), dim=-1)


def coupling_inverse_and_logdet(y, F, G, s):
    """(x, log|det dx/dy|) = (x, -log|det dy/dx| at that x), each conditioner called once for both."""
    k = y.shape[-1] // 2
    y1, y2 = y[..., :k], y[..., k:]
    x2 = torch.broadcast_to(y2*torch.exp(-s), y2.shape)
    F_val = F(x2)
    G_val = G(x2)
    x1 = torch.broadcast_to((-F_val + y1)*torch.exp(-G_val), y1.shape)
    return torch.cat([x1, x2], dim=-1), -(torch.sum(torch.broadcast_to(torch.as_tensor(G_val, dtype=x2.dtype, device=x2.device), x2.shape), dim=-1) + torch.sum(torch.broadcast_to(torch.as_tensor(s, dtype=x2.dtype, device=x2.device), x2.shape[-1:]), dim=-1))


def kl_gaussian_standard(mu, sigma):
    """KL(N(mu, sigma^2) || prior) per dimension (seed 2.3), in its stable form (accurate near the prior)."""
    return (1/2)*torch.pow(mu, 2) + (1/2)*(sigma - 1)*(sigma + 1) - 1/2*torch.log1p((sigma - 1)*(sigma + 1))


def reparam_gradient(mu, sigma, epsilon):
    """Per-sample reparameterisation gradient (d t/d mu, d t/d sigma) at z = mu + sigma epsilon (seed 2.4)."""
    return (epsilon*sigma + mu) + 0 * epsilon, (torch.pow(epsilon, 2)*sigma + epsilon*mu - 1/sigma) + 0 * epsilon



# ---- flow layers -------------------------------------------------------------------------------------------
# <layer>_forward(x, ...), <layer>_logdet(x, ...), <layer>_forward_and_logdet(x, ...) and, where derived,
# <layer>_inverse(y, ...) and <layer>_inverse_and_logdet(y, ...), as in derive_numeric.py; then one
# torch.nn.Module per layer and stack.

def _softplus(z):
    return torch.logaddexp(torch.zeros_like(z), z)


def _logcosh(z):
    a = torch.abs(z)
    return a + torch.log1p(torch.exp(-2.0 * a)) - 0.6931471805599453


def _batch(value, x, axes=1):
    """A log-determinant as one value per batch entry, in x's dtype and on x's device."""
    value = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    return torch.broadcast_to(value, x.shape[:x.dim() - axes]).clone()


def _positions(total, x):
    """A log-determinant summed over the H·W positions of an image (axes -3, -2 of x)."""
    total = torch.as_tensor(total, dtype=x.dtype, device=x.device)
    return _batch(total.sum(dim=(-2, -1)) if total.dim() > x.dim() - 3 else total, x, 3)


def _row(x):
    """A row of zeros shaped like one row of x: what a log-determinant of the parameters alone is given."""
    return torch.zeros(x.shape[-1], dtype=x.dtype, device=x.device)


def _affine(f, x):
    """f(x) for a map f that is affine in x, as one matrix product when x has more rows than features:
    f at 0 gives the offset, f at the d unit vectors the matrix (d + 1 evaluations of f itself)."""
    d = x.shape[-1]
    if x.numel() <= d * d:
        return f(x)
    offset = f(torch.zeros(1, d, dtype=x.dtype, device=x.device))
    return x @ (f(torch.eye(d, dtype=x.dtype, device=x.device)) - offset) + offset


def affine_forward(x, a, b):
    d = x.shape[-1]
    return ((a * x) + b)


def affine_logdet(x, a, b):
    d = x.shape[-1]
    return _batch(torch.sum(torch.log(torch.abs(a)), dim=-1), x)


def affine_inverse(y, a, b):
    d = y.shape[-1]
    x = ((a) ** (-1) * ((-1 * b) + y))
    return x


def affine_forward_and_logdet(x, a, b):
    d = x.shape[-1]
    return ((a * x) + b), _batch(torch.sum(torch.log(torch.abs(a)), dim=-1), x)


def affine_inverse_and_logdet(y, a, b):
    d = y.shape[-1]
    x = ((a) ** (-1) * ((-1 * b) + y))
    return x, -_batch(torch.sum(torch.log(torch.abs(a)), dim=-1), y)


def exp_forward(x):
    d = x.shape[-1]
    return torch.exp(x)


def exp_logdet(x):
    d = x.shape[-1]
    return _batch(torch.sum(x, dim=-1), x)


def exp_inverse(y):
    d = y.shape[-1]
    x = torch.log(y)
    return x


def exp_forward_and_logdet(x):
    d = x.shape[-1]
    return torch.exp(x), _batch(torch.sum(x, dim=-1), x)


def exp_inverse_and_logdet(y):
    d = y.shape[-1]
    x = torch.log(y)
    return x, -_batch(torch.sum(x, dim=-1), y)


def softplus_forward(x):
    d = x.shape[-1]
    return torch.log((1 + torch.exp(x)))


def softplus_logdet(x):
    d = x.shape[-1]
    return _batch(((-1 * torch.sum(_softplus(x), dim=-1)) + torch.sum(x, dim=-1)), x)


def softplus_inverse(y):
    d = y.shape[-1]
    x = torch.log((-1 + torch.exp(y)))
    return x


def softplus_forward_and_logdet(x):
    d = x.shape[-1]
    return torch.log((1 + torch.exp(x))), _batch(((-1 * torch.sum(_softplus(x), dim=-1)) + torch.sum(x, dim=-1)), x)


def softplus_inverse_and_logdet(y):
    d = y.shape[-1]
    x = torch.log((-1 + torch.exp(y)))
    return x, -_batch(((-1 * torch.sum(_softplus(x), dim=-1)) + torch.sum(x, dim=-1)), y)


def sigmoid_forward(x):
    d = x.shape[-1]
    return ((1 + torch.exp((-1 * x)))) ** (-1)


def sigmoid_logdet(x):
    d = x.shape[-1]
    return _batch(((-1 * torch.sum(x, dim=-1)) + (-2 * torch.sum(_softplus((-1 * x)), dim=-1))), x)


def sigmoid_inverse(y):
    d = y.shape[-1]
    x = (-1 * torch.log((-1 + (y) ** (-1))))
    return x


def sigmoid_forward_and_logdet(x):
    d = x.shape[-1]
    _e0 = (-1 * x)
    return ((1 + torch.exp(_e0))) ** (-1), _batch(((-1 * torch.sum(x, dim=-1)) + (-2 * torch.sum(_softplus(_e0), dim=-1))), x)


def sigmoid_inverse_and_logdet(y):
    d = y.shape[-1]
    x = (-1 * torch.log((-1 + (y) ** (-1))))
    return x, -_batch(((-1 * torch.sum(x, dim=-1)) + (-2 * torch.sum(_softplus((-1 * x)), dim=-1))), y)


def tanh_forward(x):
    d = x.shape[-1]
    return torch.tanh(x)


def tanh_logdet(x):
    d = x.shape[-1]
    return _batch((-2 * torch.sum(_logcosh(x), dim=-1)), x)


def tanh_inverse(y):
    d = y.shape[-1]
    x = torch.atanh(y)
    return x


def tanh_forward_and_logdet(x):
    d = x.shape[-1]
    return torch.tanh(x), _batch((-2 * torch.sum(_logcosh(x), dim=-1)), x)


def tanh_inverse_and_logdet(y):
    d = y.shape[-1]
    x = torch.atanh(y)
    return x, -_batch((-2 * torch.sum(_logcosh(x), dim=-1)), y)


def arcsinh_forward(x):
    d = x.shape[-1]
    return torch.asinh(x)


def arcsinh_logdet(x):
    d = x.shape[-1]
    return _batch((-0.5 * torch.sum(torch.log((1 + (x) ** (2))), dim=-1)), x)


def arcsinh_inverse(y):
    d = y.shape[-1]
    x = torch.sinh(y)
    return x


def arcsinh_forward_and_logdet(x):
    d = x.shape[-1]
    return torch.asinh(x), _batch((-0.5 * torch.sum(torch.log((1 + (x) ** (2))), dim=-1)), x)


def arcsinh_inverse_and_logdet(y):
    d = y.shape[-1]
    x = torch.sinh(y)
    return x, -_batch((-0.5 * torch.sum(torch.log((1 + (x) ** (2))), dim=-1)), y)


def sinh_arcsinh_forward(x, epsilon, delta):
    d = x.shape[-1]
    return torch.sinh(((-1 * epsilon) + (delta * torch.asinh(x))))


def sinh_arcsinh_logdet(x, epsilon, delta):
    d = x.shape[-1]
    return _batch(((-0.5 * torch.sum(torch.log((1 + (x) ** (2))), dim=-1)) + torch.sum(torch.log(torch.abs(delta)), dim=-1) + torch.sum(torch.log(torch.cosh(((-1 * epsilon) + (delta * torch.asinh(x))))), dim=-1)), x)


def sinh_arcsinh_inverse(y, epsilon, delta):
    d = y.shape[-1]
    x = torch.sinh(((delta) ** (-1) * (epsilon + torch.asinh(y))))
    return x


def sinh_arcsinh_forward_and_logdet(x, epsilon, delta):
    d = x.shape[-1]
    _e0 = torch.asinh(x)
    _e1 = (delta * _e0)
    _e2 = ((-1 * epsilon) + _e1)
    return torch.sinh(_e2), _batch(((-0.5 * torch.sum(torch.log((1 + (x) ** (2))), dim=-1)) + torch.sum(torch.log(torch.abs(delta)), dim=-1) + torch.sum(torch.log(torch.cosh(_e2)), dim=-1)), x)


def sinh_arcsinh_inverse_and_logdet(y, epsilon, delta):
    d = y.shape[-1]
    x = torch.sinh(((delta) ** (-1) * (epsilon + torch.asinh(y))))
    return x, -_batch(((-0.5 * torch.sum(torch.log((1 + (x) ** (2))), dim=-1)) + torch.sum(torch.log(torch.abs(delta)), dim=-1) + torch.sum(torch.log(torch.cosh(((-1 * epsilon) + (delta * torch.asinh(x))))), dim=-1)), y)


def actnorm_forward(x, b, ell):
    d = x.shape[-1]
    return ((b + x) * torch.exp(ell))


def actnorm_logdet(x, b, ell):
    d = x.shape[-1]
    return _batch(torch.sum(ell, dim=-1), x)


def actnorm_inverse(y, b, ell):
    d = y.shape[-1]
    x = ((-1 * b) + (y * torch.exp((-1 * ell))))
    return x


def actnorm_forward_and_logdet(x, b, ell):
    d = x.shape[-1]
    return ((b + x) * torch.exp(ell)), _batch(torch.sum(ell, dim=-1), x)


def actnorm_inverse_and_logdet(y, b, ell):
    d = y.shape[-1]
    x = ((-1 * b) + (y * torch.exp((-1 * ell))))
    return x, -_batch(torch.sum(ell, dim=-1), y)


def nice_forward(x, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return torch.cat([(_F_x_2 + x_1), x_2], dim=-1)


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
    return torch.cat([x_1, x_2], dim=-1)


def nice_forward_and_logdet(x, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return torch.cat([(_F_x_2 + x_1), x_2], dim=-1), _batch(0, x)


def nice_inverse_and_logdet(y, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return torch.cat([x_1, x_2], dim=-1), -_batch(0, y)


def realnvp_forward(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([torch.addcmul(_F_x_2, x_1, (torch.exp(_G_x_2))), x_2], dim=-1)


def realnvp_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    return _batch(torch.sum(_G_x_2, dim=-1), x)


def realnvp_inverse(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * torch.exp((-1 * _G_x_2)))
    return torch.cat([x_1, x_2], dim=-1)


def realnvp_forward_and_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([torch.addcmul(_F_x_2, x_1, (torch.exp(_G_x_2))), x_2], dim=-1), _batch(torch.sum(_G_x_2, dim=-1), x)


def realnvp_inverse_and_logdet(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * torch.exp((-1 * _G_x_2)))
    return torch.cat([x_1, x_2], dim=-1), -_batch(torch.sum(_G_x_2, dim=-1), y)


def glow_forward(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([(((1 + torch.exp((-2 + (-1 * _G_x_2))))) ** (-1) * (_F_x_2 + x_1)), x_2], dim=-1)


def glow_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    return _batch((-1 * torch.sum(_softplus((-2 + (-1 * _G_x_2))), dim=-1)), x)


def glow_inverse(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = torch.addcmul((-1 * _F_x_2), (1 + torch.exp((-2 + (-1 * _G_x_2)))), (y_1))
    return torch.cat([x_1, x_2], dim=-1)


def glow_forward_and_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _e0 = (-1 * _G_x_2)
    _e1 = (-2 + _e0)
    _F_x_2 = F(x_2)
    return torch.cat([(((1 + torch.exp(_e1))) ** (-1) * (_F_x_2 + x_1)), x_2], dim=-1), _batch((-1 * torch.sum(_softplus(_e1), dim=-1)), x)


def glow_inverse_and_logdet(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = torch.addcmul((-1 * _F_x_2), (1 + torch.exp((-2 + (-1 * _G_x_2)))), (y_1))
    return torch.cat([x_1, x_2], dim=-1), -_batch((-1 * torch.sum(_softplus((-2 + (-1 * _G_x_2))), dim=-1)), y)


def seed_forward(x, s, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([torch.addcmul(_F_x_2, x_1, (torch.exp(_G_x_2))), (x_2 * torch.exp(s))], dim=-1)


def seed_logdet(x, s, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    return _batch((torch.sum(_G_x_2, dim=-1) + torch.sum(s, dim=-1)), x)


def seed_inverse(y, s, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * torch.exp((-1 * s)))
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * torch.exp((-1 * _G_x_2)))
    return torch.cat([x_1, x_2], dim=-1)


def seed_forward_and_logdet(x, s, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([torch.addcmul(_F_x_2, x_1, (torch.exp(_G_x_2))), (x_2 * torch.exp(s))], dim=-1), _batch((torch.sum(_G_x_2, dim=-1) + torch.sum(s, dim=-1)), x)


def seed_inverse_and_logdet(y, s, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * torch.exp((-1 * s)))
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * torch.exp((-1 * _G_x_2)))
    return torch.cat([x_1, x_2], dim=-1), -_batch((torch.sum(_G_x_2, dim=-1) + torch.sum(s, dim=-1)), y)


def scaled_nice_forward(x, s, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return torch.cat([(_F_x_2 + x_1), (x_2 * torch.exp(s))], dim=-1)


def scaled_nice_logdet(x, s, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    return _batch(torch.sum(s, dim=-1), x)


def scaled_nice_inverse(y, s, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * torch.exp((-1 * s)))
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return torch.cat([x_1, x_2], dim=-1)


def scaled_nice_forward_and_logdet(x, s, F):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _F_x_2 = F(x_2)
    return torch.cat([(_F_x_2 + x_1), (x_2 * torch.exp(s))], dim=-1), _batch(torch.sum(s, dim=-1), x)


def scaled_nice_inverse_and_logdet(y, s, F):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = (y_2 * torch.exp((-1 * s)))
    _F_x_2 = F(x_2)
    x_1 = ((-1 * _F_x_2) + y_1)
    return torch.cat([x_1, x_2], dim=-1), -_batch(torch.sum(s, dim=-1), y)


def gin_forward(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([torch.addcmul(_F_x_2, x_1, (torch.exp(torch.addcmul(_G_x_2, (torch.sum(_G_x_2, dim=-1))[..., None], (torch.as_tensor((k) ** (-1), dtype=x.dtype, device=x.device)), value=-1.0)))), x_2], dim=-1)


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
    x_1 = (((-1 * _F_x_2) + y_1) * torch.exp(torch.addcmul((-1 * _G_x_2), (torch.sum(_G_x_2, dim=-1))[..., None], (torch.as_tensor((k) ** (-1), dtype=y.dtype, device=y.device)))))
    return torch.cat([x_1, x_2], dim=-1)


def gin_forward_and_logdet(x, F, G):
    k = x.shape[-1] // 2
    x_1, x_2 = x[..., :k], x[..., k:]
    _G_x_2 = G(x_2)
    _F_x_2 = F(x_2)
    return torch.cat([torch.addcmul(_F_x_2, x_1, (torch.exp(torch.addcmul(_G_x_2, (torch.sum(_G_x_2, dim=-1))[..., None], (torch.as_tensor((k) ** (-1), dtype=x.dtype, device=x.device)), value=-1.0)))), x_2], dim=-1), _batch(0, x)


def gin_inverse_and_logdet(y, F, G):
    k = y.shape[-1] // 2
    y_1, y_2 = y[..., :k], y[..., k:]
    x_2 = y_2
    _F_x_2 = F(x_2)
    _G_x_2 = G(x_2)
    x_1 = (((-1 * _F_x_2) + y_1) * torch.exp(torch.addcmul((-1 * _G_x_2), (torch.sum(_G_x_2, dim=-1))[..., None], (torch.as_tensor((k) ** (-1), dtype=y.dtype, device=y.device)))))
    return torch.cat([x_1, x_2], dim=-1), -_batch(0, y)


def maf_forward(x, mu, alpha):
    d = x.shape[-1]
    _mu_x = mu(x)
    _alpha_x = alpha(x)
    return (((-1 * _mu_x) + x) * torch.exp((-1 * _alpha_x)))


def maf_logdet(x, mu, alpha):
    d = x.shape[-1]
    _alpha_x = alpha(x)
    return _batch((-1 * torch.sum(_alpha_x, dim=-1)), x)


def maf_inverse(y, mu, alpha):
    d = y.shape[-1]
    x = torch.zeros_like(y)
    for t in range(x.shape[-1]):
        _v = ((y[..., t] * torch.exp(alpha(x)[..., t])) + mu(x)[..., t])
        x = x.clone()
        x[..., t] = _v
    return x


def maf_forward_and_logdet(x, mu, alpha):
    d = x.shape[-1]
    _mu_x = mu(x)
    _alpha_x = alpha(x)
    return (((-1 * _mu_x) + x) * torch.exp((-1 * _alpha_x))), _batch((-1 * torch.sum(_alpha_x, dim=-1)), x)


def maf_inverse_and_logdet(y, mu, alpha):
    d = y.shape[-1]
    x = torch.zeros_like(y)
    for t in range(x.shape[-1]):
        _v = ((y[..., t] * torch.exp(alpha(x)[..., t])) + mu(x)[..., t])
        x = x.clone()
        x[..., t] = _v
    _alpha_x = alpha(x)
    return x, -_batch((-1 * torch.sum(_alpha_x, dim=-1)), y)


def iaf_forward(x, m, s):
    d = x.shape[-1]
    _s_x = s(x)
    _e0 = (-1 * _s_x)
    _e1 = torch.exp(_e0)
    _e2 = (1 + _e1)
    _e3 = (_e2) ** (-1)
    _m_x = m(x)
    return torch.addcmul(((1 + (-1 * _e3)) * _m_x), _e3, (x))


def iaf_logdet(x, m, s):
    d = x.shape[-1]
    _s_x = s(x)
    return _batch((-1 * torch.sum(_softplus((-1 * _s_x)), dim=-1)), x)


def iaf_inverse(y, m, s):
    d = y.shape[-1]
    x = torch.zeros_like(y)
    for t in range(x.shape[-1]):
        _v = ((1 + torch.exp((-1 * s(x)[..., t]))) * ((-1 * (1 + (-1 * ((1 + torch.exp((-1 * s(x)[..., t])))) ** (-1))) * m(x)[..., t]) + y[..., t]))
        x = x.clone()
        x[..., t] = _v
    return x


def iaf_forward_and_logdet(x, m, s):
    d = x.shape[-1]
    _s_x = s(x)
    _e0 = (-1 * _s_x)
    _e1 = torch.exp(_e0)
    _e2 = (1 + _e1)
    _e3 = (_e2) ** (-1)
    _m_x = m(x)
    return torch.addcmul(((1 + (-1 * _e3)) * _m_x), _e3, (x)), _batch((-1 * torch.sum(_softplus(_e0), dim=-1)), x)


def iaf_inverse_and_logdet(y, m, s):
    d = y.shape[-1]
    x = torch.zeros_like(y)
    for t in range(x.shape[-1]):
        _v = ((1 + torch.exp((-1 * s(x)[..., t]))) * ((-1 * (1 + (-1 * ((1 + torch.exp((-1 * s(x)[..., t])))) ** (-1))) * m(x)[..., t]) + y[..., t]))
        x = x.clone()
        x[..., t] = _v
    _s_x = s(x)
    return x, -_batch((-1 * torch.sum(_softplus((-1 * _s_x)), dim=-1)), y)


def planar_forward(x, u, w, b):
    d = x.shape[-1]
    return torch.addcmul(x, (torch.tanh((b + (x @ w))))[..., None], (torch.as_tensor(u, dtype=x.dtype, device=x.device)))


def planar_logdet(x, u, w, b):
    d = x.shape[-1]
    return _batch(torch.log(torch.abs((-1 + ((-1 + (torch.tanh((b + (x @ w)))) ** (2)) * torch.einsum('a,a->', u, w))))), x)


def planar_forward_and_logdet(x, u, w, b):
    d = x.shape[-1]
    _e0 = (x @ w)
    return torch.addcmul(x, (torch.tanh((b + _e0)))[..., None], (torch.as_tensor(u, dtype=x.dtype, device=x.device))), _batch(torch.log(torch.abs((-1 + ((-1 + (torch.tanh((b + _e0))) ** (2)) * torch.einsum('a,a->', u, w))))), x)


def radial_forward(x, x_0, alpha, beta):
    d = x.shape[-1]
    _e0 = ((-1 * x_0) + x)
    return torch.addcmul(x, (((alpha + torch.sqrt(torch.sum((_e0) ** (2), dim=-1)))) ** (-1))[..., None], (beta * _e0))


def radial_logdet(x, x_0, alpha, beta):
    d = x.shape[-1]
    _e0 = ((-1 * x_0) + x)
    _e1 = (_e0) ** (2)
    _e2 = torch.sum(_e1, dim=-1)
    return _batch(torch.addcmul(torch.log(torch.abs((-1 + (beta * ((alpha + torch.sqrt(_e2))) ** (-1) * ((beta + alpha + torch.sqrt(_e2))) ** (-1) * torch.sqrt(_e2))))), torch.log(torch.abs((1 + (beta * ((alpha + torch.sqrt(_e2))) ** (-1))))), (torch.as_tensor(d, dtype=x.dtype, device=x.device))), x)


def radial_forward_and_logdet(x, x_0, alpha, beta):
    d = x.shape[-1]
    _e0 = ((-1 * x_0) + x)
    _e1 = (_e0) ** (2)
    _e2 = torch.sum(_e1, dim=-1)
    return torch.addcmul(x, (((alpha + torch.sqrt(_e2))) ** (-1))[..., None], (beta * _e0)), _batch(torch.addcmul(torch.log(torch.abs((-1 + (beta * ((alpha + torch.sqrt(_e2))) ** (-1) * ((beta + alpha + torch.sqrt(_e2))) ** (-1) * torch.sqrt(_e2))))), torch.log(torch.abs((1 + (beta * ((alpha + torch.sqrt(_e2))) ** (-1))))), (torch.as_tensor(d, dtype=x.dtype, device=x.device))), x)


def sylvester_forward(x, A, B, c):
    d = x.shape[-1]
    return (x + (torch.tanh((c + (x @ B.T))) @ A.T))


def sylvester_logdet(x, A, B, c):
    d = x.shape[-1]
    return _batch(torch.linalg.slogdet(((((1 + (-1 * (torch.tanh((c + (x @ B.T)))) ** (2))))[..., :, None] * torch.einsum('bc,ac->ab', (A).permute(1, 0), B)) + torch.eye(c.shape[0], dtype=x.dtype, device=x.device)))[1], x)


def sylvester_forward_and_logdet(x, A, B, c):
    d = x.shape[-1]
    _e0 = (x @ B.T)
    _e1 = (c + _e0)
    _e2 = torch.tanh(_e1)
    return (x + (_e2 @ A.T)), _batch(torch.linalg.slogdet(((((1 + (-1 * (_e2) ** (2))))[..., :, None] * torch.einsum('bc,ac->ab', (A).permute(1, 0), B)) + torch.eye(c.shape[0], dtype=x.dtype, device=x.device)))[1], x)


def householder_forward(x, v):
    d = x.shape[-1]
    return torch.addcmul(x, ((x @ v))[..., None], (torch.as_tensor((torch.sum((v) ** (2), dim=-1)) ** (-1) * v, dtype=x.dtype, device=x.device)), value=-2.0)


def householder_logdet(x, v):
    d = x.shape[-1]
    return _batch(0, x)


def householder_inverse(y, v):
    d = y.shape[-1]
    x = torch.addcmul(y, ((y @ v))[..., None], (torch.as_tensor((torch.sum((v) ** (2), dim=-1)) ** (-1) * v, dtype=y.dtype, device=y.device)), value=-2.0)
    return x


def householder_forward_and_logdet(x, v):
    d = x.shape[-1]
    return torch.addcmul(x, ((x @ v))[..., None], (torch.as_tensor((torch.sum((v) ** (2), dim=-1)) ** (-1) * v, dtype=x.dtype, device=x.device)), value=-2.0), _batch(0, x)


def householder_inverse_and_logdet(y, v):
    d = y.shape[-1]
    x = torch.addcmul(y, ((y @ v))[..., None], (torch.as_tensor((torch.sum((v) ** (2), dim=-1)) ** (-1) * v, dtype=y.dtype, device=y.device)), value=-2.0)
    return x, -_batch(0, y)


def reverse_forward(x):
    d = x.shape[-1]
    return torch.flip(x, (-1,))


def reverse_logdet(x):
    d = x.shape[-1]
    return _batch(0, x)


def reverse_inverse(y):
    d = y.shape[-1]
    x = torch.flip(y, (-1,))
    return x


def reverse_forward_and_logdet(x):
    d = x.shape[-1]
    return torch.flip(x, (-1,)), _batch(0, x)


def reverse_inverse_and_logdet(y):
    d = y.shape[-1]
    x = torch.flip(y, (-1,))
    return x, -_batch(0, y)


def _upper_forward(x, s, U):
    d = x.shape[-1]
    return torch.addcmul((x @ (U * torch.ones(d, d, dtype=x.dtype, device=x.device).tril(-1).T).T), x, (torch.as_tensor(s, dtype=x.dtype, device=x.device)))


def upper_forward(x, s, U):
    return _affine(lambda h: _upper_forward(h, s, U), x)


def upper_logdet(x, s, U):
    d = x.shape[-1]
    return _batch(torch.sum(torch.log(torch.abs(s)), dim=-1), x)


def _upper_inverse(y, s, U):
    d = y.shape[-1]
    x = torch.zeros_like(y)
    for t in reversed(range(x.shape[-1])):
        _v = ((s[t]) ** (-1) * ((-1 * (x @ (U[t, :] * (torch.arange(d, device=y.device) > t)))) + y[..., t]))
        x = x.clone()
        x[..., t] = _v
    return x


def upper_inverse(y, s, U):
    return _affine(lambda h: _upper_inverse(h, s, U), y)


def upper_forward_and_logdet(x, s, U):
    return upper_forward(x, s, U), upper_logdet(x, s, U)


def upper_inverse_and_logdet(y, s, U):
    return upper_inverse(y, s, U), -upper_logdet(y, s, U)


def _unit_lower_forward(x, L):
    d = x.shape[-1]
    return (x + (x @ (L * torch.ones(d, d, dtype=x.dtype, device=x.device).tril(-1)).T))


def unit_lower_forward(x, L):
    return _affine(lambda h: _unit_lower_forward(h, L), x)


def unit_lower_logdet(x, L):
    d = x.shape[-1]
    return _batch(0, x)


def _unit_lower_inverse(y, L):
    d = y.shape[-1]
    x = torch.zeros_like(y)
    for t in range(x.shape[-1]):
        _v = ((-1 * (x @ (L[t, :] * (torch.arange(d, device=y.device) < t)))) + y[..., t])
        x = x.clone()
        x[..., t] = _v
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


class Affine(torch.nn.Module):
    """Element-wise affine: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, a, b):
        super().__init__()
        self.a = torch.nn.Parameter(torch.as_tensor(a))
        self.b = torch.nn.Parameter(torch.as_tensor(b))

    def forward(self, x):
        return affine_forward_and_logdet(x, self.a, self.b)

    def inverse(self, y):
        return affine_inverse_and_logdet(y, self.a, self.b)


class Exp(torch.nn.Module):
    """Element-wise exp: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return exp_forward_and_logdet(x, )

    def inverse(self, y):
        return exp_inverse_and_logdet(y, )


class Softplus(torch.nn.Module):
    """Element-wise softplus: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return softplus_forward_and_logdet(x, )

    def inverse(self, y):
        return softplus_inverse_and_logdet(y, )


class Sigmoid(torch.nn.Module):
    """Element-wise sigmoid: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return sigmoid_forward_and_logdet(x, )

    def inverse(self, y):
        return sigmoid_inverse_and_logdet(y, )


class Tanh(torch.nn.Module):
    """Element-wise tanh: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return tanh_forward_and_logdet(x, )

    def inverse(self, y):
        return tanh_inverse_and_logdet(y, )


class Arcsinh(torch.nn.Module):
    """Element-wise arcsinh: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return arcsinh_forward_and_logdet(x, )

    def inverse(self, y):
        return arcsinh_inverse_and_logdet(y, )


class SinhArcsinh(torch.nn.Module):
    """Sinh-arcsinh: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, epsilon, delta):
        super().__init__()
        self.epsilon = torch.nn.Parameter(torch.as_tensor(epsilon))
        self.delta = torch.nn.Parameter(torch.as_tensor(delta))

    def forward(self, x):
        return sinh_arcsinh_forward_and_logdet(x, self.epsilon, self.delta)

    def inverse(self, y):
        return sinh_arcsinh_inverse_and_logdet(y, self.epsilon, self.delta)


class Actnorm(torch.nn.Module):
    """ActNorm: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, b, ell):
        super().__init__()
        self.b = torch.nn.Parameter(torch.as_tensor(b))
        self.ell = torch.nn.Parameter(torch.as_tensor(ell))

    def forward(self, x):
        return actnorm_forward_and_logdet(x, self.b, self.ell)

    def inverse(self, y):
        return actnorm_inverse_and_logdet(y, self.b, self.ell)


class Nice(torch.nn.Module):
    """NICE additive coupling: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, F):
        super().__init__()
        self.F = F

    def forward(self, x):
        return nice_forward_and_logdet(x, self.F)

    def inverse(self, y):
        return nice_inverse_and_logdet(y, self.F)


class Realnvp(torch.nn.Module):
    """RealNVP affine coupling: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, F, G):
        super().__init__()
        self.F = F
        self.G = G

    def forward(self, x):
        return realnvp_forward_and_logdet(x, self.F, self.G)

    def inverse(self, y):
        return realnvp_inverse_and_logdet(y, self.F, self.G)


class Glow(torch.nn.Module):
    """Glow affine coupling: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, F, G):
        super().__init__()
        self.F = F
        self.G = G

    def forward(self, x):
        return glow_forward_and_logdet(x, self.F, self.G)

    def inverse(self, y):
        return glow_inverse_and_logdet(y, self.F, self.G)


class Seed(torch.nn.Module):
    """The sheet's block: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, s, F, G):
        super().__init__()
        self.s = torch.nn.Parameter(torch.as_tensor(s))
        self.F = F
        self.G = G

    def forward(self, x):
        return seed_forward_and_logdet(x, self.s, self.F, self.G)

    def inverse(self, y):
        return seed_inverse_and_logdet(y, self.s, self.F, self.G)


class ScaledNice(torch.nn.Module):
    """Additive coupling with a fixed scale: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, s, F):
        super().__init__()
        self.s = torch.nn.Parameter(torch.as_tensor(s))
        self.F = F

    def forward(self, x):
        return scaled_nice_forward_and_logdet(x, self.s, self.F)

    def inverse(self, y):
        return scaled_nice_inverse_and_logdet(y, self.s, self.F)


class Gin(torch.nn.Module):
    """GIN volume-preserving coupling: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, F, G):
        super().__init__()
        self.F = F
        self.G = G

    def forward(self, x):
        return gin_forward_and_logdet(x, self.F, self.G)

    def inverse(self, y):
        return gin_inverse_and_logdet(y, self.F, self.G)


class Maf(torch.nn.Module):
    """Masked autoregressive flow (MAF): forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, mu, alpha):
        super().__init__()
        self.mu = mu
        self.alpha = alpha

    def forward(self, x):
        return maf_forward_and_logdet(x, self.mu, self.alpha)

    def inverse(self, y):
        return maf_inverse_and_logdet(y, self.mu, self.alpha)


class Iaf(torch.nn.Module):
    """Inverse autoregressive flow (IAF): forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, m, s):
        super().__init__()
        self.m = m
        self.s = s

    def forward(self, x):
        return iaf_forward_and_logdet(x, self.m, self.s)

    def inverse(self, y):
        return iaf_inverse_and_logdet(y, self.m, self.s)


class Planar(torch.nn.Module):
    """Planar flow: forward(x) -> (y, log|det dy/dx|)."""

    def __init__(self, u, w, b):
        super().__init__()
        self.u = torch.nn.Parameter(torch.as_tensor(u))
        self.w = torch.nn.Parameter(torch.as_tensor(w))
        self.b = torch.nn.Parameter(torch.as_tensor(b))

    def forward(self, x):
        return planar_forward_and_logdet(x, self.u, self.w, self.b)


class Radial(torch.nn.Module):
    """Radial flow: forward(x) -> (y, log|det dy/dx|)."""

    def __init__(self, x_0, alpha, beta):
        super().__init__()
        self.x_0 = torch.nn.Parameter(torch.as_tensor(x_0))
        self.alpha = torch.nn.Parameter(torch.as_tensor(alpha))
        self.beta = torch.nn.Parameter(torch.as_tensor(beta))

    def forward(self, x):
        return radial_forward_and_logdet(x, self.x_0, self.alpha, self.beta)


class Sylvester(torch.nn.Module):
    """Sylvester flow: forward(x) -> (y, log|det dy/dx|)."""

    def __init__(self, A, B, c):
        super().__init__()
        self.A = torch.nn.Parameter(torch.as_tensor(A))
        self.B = torch.nn.Parameter(torch.as_tensor(B))
        self.c = torch.nn.Parameter(torch.as_tensor(c))

    def forward(self, x):
        return sylvester_forward_and_logdet(x, self.A, self.B, self.c)


class Householder(torch.nn.Module):
    """Householder reflection: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, v):
        super().__init__()
        self.v = torch.nn.Parameter(torch.as_tensor(v))

    def forward(self, x):
        return householder_forward_and_logdet(x, self.v)

    def inverse(self, y):
        return householder_inverse_and_logdet(y, self.v)


class Reverse(torch.nn.Module):
    """Permutation (reverse order): forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return reverse_forward_and_logdet(x, )

    def inverse(self, y):
        return reverse_inverse_and_logdet(y, )


class Upper(torch.nn.Module):
    """Upper-triangular linear: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, s, U):
        super().__init__()
        self.s = torch.nn.Parameter(torch.as_tensor(s))
        self.U = torch.nn.Parameter(torch.as_tensor(U))

    def forward(self, x):
        return upper_forward_and_logdet(x, self.s, self.U)

    def inverse(self, y):
        return upper_inverse_and_logdet(y, self.s, self.U)


class UnitLower(torch.nn.Module):
    """Unit lower-triangular linear: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, L):
        super().__init__()
        self.L = torch.nn.Parameter(torch.as_tensor(L))

    def forward(self, x):
        return unit_lower_forward_and_logdet(x, self.L)

    def inverse(self, y):
        return unit_lower_inverse_and_logdet(y, self.L)


class LuLinear(torch.nn.Module):
    """Invertible linear layer, LU parametrised: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, s, U, L):
        super().__init__()
        self.s = torch.nn.Parameter(torch.as_tensor(s))
        self.U = torch.nn.Parameter(torch.as_tensor(U))
        self.L = torch.nn.Parameter(torch.as_tensor(L))

    def forward(self, x):
        return lu_linear_forward_and_logdet(x, self.s, self.U, self.L)

    def inverse(self, y):
        return lu_linear_inverse_and_logdet(y, self.s, self.U, self.L)


class Conv1x1(torch.nn.Module):
    """Invertible 1×1 convolution (Glow): forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, s, U, L):
        super().__init__()
        self.s = torch.nn.Parameter(torch.as_tensor(s))
        self.U = torch.nn.Parameter(torch.as_tensor(U))
        self.L = torch.nn.Parameter(torch.as_tensor(L))

    def forward(self, x):
        return conv1x1_forward_and_logdet(x, self.s, self.U, self.L)

    def inverse(self, y):
        return conv1x1_inverse_and_logdet(y, self.s, self.U, self.L)


class GlowStep(torch.nn.Module):
    """A Glow step: forward(x) -> (y, log|det dy/dx|); inverse(y) -> (x, log|det dx/dy|)."""

    def __init__(self, b, ell, s, U, L, F, G):
        super().__init__()
        self.b = torch.nn.Parameter(torch.as_tensor(b))
        self.ell = torch.nn.Parameter(torch.as_tensor(ell))
        self.s = torch.nn.Parameter(torch.as_tensor(s))
        self.U = torch.nn.Parameter(torch.as_tensor(U))
        self.L = torch.nn.Parameter(torch.as_tensor(L))
        self.F = F
        self.G = G

    def forward(self, x):
        return glow_step_forward_and_logdet(x, self.b, self.ell, self.s, self.U, self.L, self.F, self.G)

    def inverse(self, y):
        return glow_step_inverse_and_logdet(y, self.b, self.ell, self.s, self.U, self.L, self.F, self.G)


# ---- KL catalogue ------------------------------------------------------------------------------------------
# kl_<p>_<q>(p's parameters, q's parameters), as in derive_numeric.py: tensors (or numbers) broadcast
# element-wise; every number follows the dtype and device of the first tensor argument.


def _kl_tensors(*args):
    """The arguments as tensors of the first tensor argument's dtype and device (float64 on the CPU if none)."""
    like = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if like is None:
        return [torch.as_tensor(a, dtype=torch.float64) for a in args]
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    return [torch.as_tensor(a, dtype=dtype, device=like.device) for a in args]


def kl_normal_normal(mu_p, sigma_p, mu_q, sigma_q):
    """KL(p || q) in nats for p = Normal(mu_p, sigma_p), q = Normal(mu_q, sigma_q).

    p: mu (mean), sigma (standard deviation).
    q: mu (mean), sigma (standard deviation).
    Arguments broadcast element-wise.
    """
    mu_p, sigma_p, mu_q, sigma_q, = _kl_tensors(mu_p, sigma_p, mu_q, sigma_q)
    return -torch.log1p((sigma_p - sigma_q)/sigma_q) + (1/2)*(torch.pow(mu_p - mu_q, 2) + (sigma_p - sigma_q)*(sigma_p + sigma_q))/torch.pow(sigma_q, 2)


def kl_laplace_laplace(mu_p, b_p, mu_q, b_q):
    """KL(p || q) in nats for p = Laplace(mu_p, b_p), q = Laplace(mu_q, b_q).

    p: mu (location), b (scale).
    q: mu (location), b (scale).
    Arguments broadcast element-wise.
    """
    mu_p, b_p, mu_q, b_q, = _kl_tensors(mu_p, b_p, mu_q, b_q)
    return -torch.log1p((b_p - b_q)/b_q) + (b_p*torch.expm1(-torch.abs(mu_p - mu_q)/b_p) + b_p - b_q + torch.abs(mu_p - mu_q))/b_q


def kl_exponential_exponential(lambda_p, lambda_q):
    """KL(p || q) in nats for p = Exponential(lambda_p), q = Exponential(lambda_q).

    p: lambda (rate).
    q: lambda (rate).
    Arguments broadcast element-wise.
    """
    lambda_p, lambda_q, = _kl_tensors(lambda_p, lambda_q)
    return torch.log1p((lambda_p - lambda_q)/lambda_q) + (-lambda_p + lambda_q)/lambda_p


def kl_gamma_gamma(alpha_p, beta_p, alpha_q, beta_q):
    """KL(p || q) in nats for p = Gamma(alpha_p, beta_p), q = Gamma(alpha_q, beta_q).

    p: alpha (shape), beta (rate).
    q: alpha (shape), beta (rate).
    Arguments broadcast element-wise.
    """
    alpha_p, beta_p, alpha_q, beta_q, = _kl_tensors(alpha_p, beta_p, alpha_q, beta_q)
    return -alpha_p*(beta_p - beta_q)/beta_p + alpha_q*torch.log1p((beta_p - beta_q)/beta_q) + (alpha_p - alpha_q)*torch.special.digamma(alpha_p) + (-torch.lgamma(alpha_p) + torch.lgamma(alpha_q))


def kl_beta_beta(alpha_p, beta_p, alpha_q, beta_q):
    """KL(p || q) in nats for p = Beta(alpha_p, beta_p), q = Beta(alpha_q, beta_q).

    p: alpha (first shape), beta (second shape).
    q: alpha (first shape), beta (second shape).
    Arguments broadcast element-wise.
    """
    alpha_p, beta_p, alpha_q, beta_q, = _kl_tensors(alpha_p, beta_p, alpha_q, beta_q)
    return ((alpha_p - alpha_q)*torch.special.digamma(alpha_p) + (beta_p - beta_q)*torch.special.digamma(beta_p) + (-alpha_p + alpha_q - beta_p + beta_q)*torch.special.digamma(alpha_p + beta_p)) + (-torch.lgamma(alpha_p) + torch.lgamma(alpha_q) - torch.lgamma(beta_p) + torch.lgamma(beta_q) + torch.lgamma(alpha_p + beta_p) - torch.lgamma(alpha_q + beta_q))


def kl_lognormal_lognormal(mu_p, sigma_p, mu_q, sigma_q):
    """KL(p || q) in nats for p = LogNormal(mu_p, sigma_p), q = LogNormal(mu_q, sigma_q).

    p: mu (mean of log x), sigma (standard deviation of log x).
    q: mu (mean of log x), sigma (standard deviation of log x).
    Arguments broadcast element-wise.
    """
    mu_p, sigma_p, mu_q, sigma_q, = _kl_tensors(mu_p, sigma_p, mu_q, sigma_q)
    return -torch.log1p((sigma_p - sigma_q)/sigma_q) + (1/2)*(torch.pow(mu_p - mu_q, 2) + (sigma_p - sigma_q)*(sigma_p + sigma_q))/torch.pow(sigma_q, 2)


def kl_cauchy_cauchy(x0_p, gamma_p, x0_q, gamma_q):
    """KL(p || q) in nats for p = Cauchy(x0_p, gamma_p), q = Cauchy(x0_q, gamma_q).

    p: x0 (location), gamma (scale).
    q: x0 (location), gamma (scale).
    Arguments broadcast element-wise.
    """
    x0_p, gamma_p, x0_q, gamma_q, = _kl_tensors(x0_p, gamma_p, x0_q, gamma_q)
    return torch.log1p((1/4)*(torch.pow(gamma_p - gamma_q, 2) + torch.pow(x0_p - x0_q, 2))/(gamma_p*gamma_q))


def kl_gumbel_gumbel(mu_p, beta_p, mu_q, beta_q):
    """KL(p || q) in nats for p = Gumbel(mu_p, beta_p), q = Gumbel(mu_q, beta_q).

    p: mu (location), beta (scale).
    q: mu (location), beta (scale).
    Arguments broadcast element-wise.
    """
    mu_p, beta_p, mu_q, beta_q, = _kl_tensors(mu_p, beta_p, mu_q, beta_q)
    return -torch.log1p((beta_p - beta_q)/beta_q) + (0.57721566490153286*beta_p + beta_q*torch.expm1(torch.lgamma(2 + (beta_p - beta_q)/beta_q) - mu_p/beta_q + mu_q/beta_q) - 0.57721566490153286*beta_q + mu_p - mu_q)/beta_q


def kl_halfnormal_halfnormal(sigma_p, sigma_q):
    """KL(p || q) in nats for p = HalfNormal(sigma_p), q = HalfNormal(sigma_q).

    p: sigma (scale).
    q: sigma (scale).
    Arguments broadcast element-wise.
    """
    sigma_p, sigma_q, = _kl_tensors(sigma_p, sigma_q)
    return -torch.log1p((sigma_p - sigma_q)/sigma_q) + (1/2)*(sigma_p - sigma_q)*(sigma_p + sigma_q)/torch.pow(sigma_q, 2)


def kl_uniform_uniform(a_p, b_p, a_q, b_q):
    """KL(p || q) in nats for p = Uniform(a_p, b_p), q = Uniform(a_q, b_q).

    p: a (lower end), b (upper end).
    q: a (lower end), b (upper end).
    Arguments broadcast element-wise. It is +inf unless (a_p >= a_q) & (b_p <= b_q).
    At the edges (a_p = 0, a_p = 1, b_p = 0, b_p = 1, a_q = 0, a_q = 1, b_q = 0, b_q = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    a_p, b_p, a_q, b_q, = _kl_tensors(a_p, b_p, a_q, b_q)
    return torch.where(torch.logical_and(torch.ge(a_p, a_q), torch.le(b_p, b_q)), torch.log1p((a_p - a_q - b_p + b_q)/(-a_p + b_p)), float('inf'))


def kl_bernoulli_bernoulli(p_p, p_q):
    """KL(p || q) in nats for p = Bernoulli(p_p), q = Bernoulli(p_q).

    p: p (probability of 1).
    q: p (probability of 1).
    Arguments broadcast element-wise.
    At the edges (p_p = 0, p_p = 1, p_q = 0, p_q = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    p_p, p_q, = _kl_tensors(p_p, p_q)
    return torch.xlogy(p_p, p_p) - torch.xlogy(p_p, p_q) + torch.xlogy(1 - p_p, 1 - p_p) + torch.xlogy(p_p - 1, 1 - p_q)


def kl_poisson_poisson(lambda_p, lambda_q):
    """KL(p || q) in nats for p = Poisson(lambda_p), q = Poisson(lambda_q).

    p: lambda (rate).
    q: lambda (rate).
    Arguments broadcast element-wise.
    At the edges (lambda_p = 0, lambda_q = 0) it returns the limit: +inf where p puts mass where q has none.
    """
    lambda_p, lambda_q, = _kl_tensors(lambda_p, lambda_q)
    return -lambda_p + lambda_q + torch.xlogy(lambda_p, lambda_p) - torch.xlogy(lambda_p, lambda_q)


def kl_geometric_geometric(p_p, p_q):
    """KL(p || q) in nats for p = Geometric(p_p), q = Geometric(p_q).

    p: p (probability of success).
    q: p (probability of success).
    Arguments broadcast element-wise.
    At the edges (p_p = 1, p_q = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    p_p, p_q, = _kl_tensors(p_p, p_q)
    return torch.log(p_p) - torch.log(p_q) - torch.xlogy(p_p - 1, 1 - p_p)/p_p + torch.xlogy(p_p - 1, 1 - p_q)/p_p


def kl_uniform_beta(a, b, alpha, beta):
    """KL(p || q) in nats for p = Uniform(a, b), q = Beta(alpha, beta).

    p: a (lower end), b (upper end).
    q: alpha (first shape), beta (second shape).
    Arguments broadcast element-wise. It is +inf unless (a >= 0) & (b <= 1).
    At the edges (a = 0, a = 1, b = 0, b = 1) it returns the limit: +inf where p puts mass where q has none.
    """
    a, b, alpha, beta, = _kl_tensors(a, b, alpha, beta)
    return torch.where(torch.logical_and(torch.ge(a, 0), torch.le(b, 1)), alpha + beta + (1 - alpha)*torch.xlogy(a, a)/(a - b) + (1 - beta)*torch.xlogy(a - 1, 1 - a)/(a - b) - torch.log(-a + b) + (torch.lgamma(alpha) + torch.lgamma(beta) - torch.lgamma(alpha + beta)) - 2 + (alpha - 1)*torch.xlogy(b, b)/(a - b) + (beta - 1)*torch.xlogy(b - 1, 1 - b)/(a - b), float('inf'))


def kl_categorical_categorical(p, q):
    """KL(p || q) in nats for p = Categorical(p), q = Categorical(q); arguments in the order (p, q).

    p, q: probability vectors on the last axis (non-negative, summing to 1), batch axes in front.
    A class with p_j = 0 contributes 0; the result is +inf where some p_j > 0 = q_j.
    """
    like = [a for a in (p, q) if isinstance(a, torch.Tensor)]
    kind = dict(dtype=like[0].dtype, device=like[0].device) if like else dict(dtype=torch.float64)
    p, q = torch.as_tensor(p, **kind), torch.as_tensor(q, **kind)
    return torch.sum(torch.xlogy(p, p) - torch.xlogy(p, q), dim=-1)


def kl_mvnormal_mvnormal(mu_p, Sigma_p, mu_q, Sigma_q):
    """KL(MVNormal ‖ MVNormal) in nats; arguments in the order (mu_p, Sigma_p, mu_q, Sigma_q).

    mu_p: mean of p (vector).
    Sigma_p: covariance of p (symmetric positive definite matrix).
    mu_q: mean of q (vector).
    Sigma_q: covariance of q (symmetric positive definite matrix).
    Vectors on the last axis, matrices on the last two axes, batch axes in front (broadcast).
    Sigma is the COVARIANCE (not its inverse, not a Cholesky factor).
    """
    like = [a for a in (mu_p, Sigma_p, mu_q, Sigma_q) if isinstance(a, torch.Tensor)]
    kind = dict(dtype=like[0].dtype, device=like[0].device) if like else dict(dtype=torch.float64)
    mu_p, Sigma_p, mu_q, Sigma_q = (torch.as_tensor(a, **kind) for a in (mu_p, Sigma_p, mu_q, Sigma_q))
    d = mu_p.shape[-1]
    return -1/2*d - 1/2*torch.linalg.slogdet(Sigma_p)[1] + (1/2)*torch.linalg.slogdet(Sigma_q)[1] + (1/2)*((-mu_q + mu_p)*torch.linalg.solve(Sigma_q, (-mu_q + mu_p).unsqueeze(-1)).squeeze(-1)).sum(-1) + (1/2)*torch.diagonal(torch.linalg.solve(Sigma_q, Sigma_p), dim1=-2, dim2=-1).sum(-1)


def kl_mvnormal_diag_mvnormal(mu_p, sigma_p, mu_q, Sigma_q):
    """KL(MVNormal (diagonal) ‖ MVNormal) in nats; arguments in the order (mu_p, sigma_p, mu_q, Sigma_q).

    mu_p: mean of p (vector).
    sigma_p: standard deviations of p (positive vector; covariance diag(sigma_p**2)).
    mu_q: mean of q (vector).
    Sigma_q: covariance of q (symmetric positive definite matrix).
    Vectors on the last axis, matrices on the last two axes, batch axes in front (broadcast).
    Sigma is the COVARIANCE (not its inverse, not a Cholesky factor).
    """
    like = [a for a in (mu_p, sigma_p, mu_q, Sigma_q) if isinstance(a, torch.Tensor)]
    kind = dict(dtype=like[0].dtype, device=like[0].device) if like else dict(dtype=torch.float64)
    mu_p, sigma_p, mu_q, Sigma_q = (torch.as_tensor(a, **kind) for a in (mu_p, sigma_p, mu_q, Sigma_q))
    d = mu_p.shape[-1]
    return -1/2*d + (1/2)*torch.linalg.slogdet(Sigma_q)[1] + (1/2)*((-mu_q + mu_p)*torch.linalg.solve(Sigma_q, (-mu_q + mu_p).unsqueeze(-1)).squeeze(-1)).sum(-1) + (1/2)*torch.diagonal(torch.linalg.solve(Sigma_q, torch.diag_embed((sigma_p**2))), dim1=-2, dim2=-1).sum(-1) - torch.sum(torch.log(sigma_p), dim=-1)
