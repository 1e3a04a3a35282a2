"""Derivations as bytes and back, exactly as they were.

A derivation holds SymPy expressions that were built unevaluated on purpose
(``Mul(1/2, a - log a - 1, evaluate=False)`` prints as ½(a − log a − 1)).
Plain pickling rebuilds every node with its constructor, which evaluates it
again and changes what is printed.  Here a node that its constructor would
change is stored with ``evaluate=False``, and one that cannot be rebuilt
exactly is refused (:class:`NotSerialisable`), so what comes back prints
byte for byte as what went in.  Used by the worker processes and the cache.
"""
from __future__ import annotations

import io
import pickle

import sympy as sp

PROTOCOL = 5


class NotSerialisable(Exception):
    """An object that would not come back exactly as it is."""


def _unevaluated(cls, args):
    return cls(*args, evaluate=False)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if not isinstance(obj, sp.Basic) or obj.is_Atom or not obj.args or isinstance(obj, sp.MatrixBase):
            return NotImplemented
        cls = type(obj)
        if isinstance(obj, (sp.Add, sp.Mul, sp.Pow)):
            return _unevaluated, (cls, obj.args)
        try:
            if cls(*obj.args) == obj:
                return NotImplemented
            if cls(*obj.args, evaluate=False) == obj:
                return _unevaluated, (cls, obj.args)
        except Exception as exc:  # noqa: BLE001 - a constructor that refuses its own arguments
            raise NotSerialisable(f"{cls.__name__} cannot be rebuilt from its arguments: {exc}") from None
        raise NotSerialisable(f"{cls.__name__} would not be rebuilt as it is")


def dumps(obj) -> bytes:
    """``obj`` as bytes; :class:`NotSerialisable` if some part of it cannot travel (a function made on the fly,
    an open file) or would not come back exactly."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=PROTOCOL).dump(obj)
    except NotSerialisable:
        raise
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        raise NotSerialisable(f"{type(exc).__name__}: {exc}") from None
    return buffer.getvalue()


def loads(data: bytes):
    return pickle.loads(data)
