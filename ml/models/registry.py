"""Build recommenders by name from plain configs.

    >>> from ml.models.registry import model_from_config, available_models
    >>> model = model_from_config({"name": "ease", "l2": 500})

Registration is import-light: built-in and plugin models are listed as lazy
``"module:Class"`` paths, so neither the model modules nor torch are imported
until a model of that name is actually built.

* ``@register("name")`` on a :class:`~ml.models.base.Recommender` subclass
  registers it eagerly (and sets ``cls.name``).
* ``register_lazy("name", "package.module:Class")`` registers a path.
* Plugin packages listed in ``PLUGIN_PACKAGES`` (``ml.models.neural``) may
  define ``MODELS: dict[str, str]`` (name -> ``"module:Class"``) in their
  ``__init__``; it is read the first time the registry is queried.  That
  ``__init__`` must not import torch.

Each model's config is a dataclass generated from its ``__init__`` signature
(:func:`config_class`); :func:`model_from_config` rejects unknown or mistyped
parameters with a ``ValueError`` and then runs the model's
``_validate_params``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import types
import typing
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "register",
    "register_lazy",
    "available_models",
    "get_model_class",
    "config_class",
    "model_from_config",
    "model_to_config",
    "PLUGIN_PACKAGES",
]

_BUILTIN: dict[str, str] = {
    "pop": "ml.models.popularity:PopularityRecommender",
    "pop_category": "ml.models.popularity:CategoryPopularityRecommender",
    "trending": "ml.models.popularity:TrendingRecommender",
    "itemknn": "ml.models.itemknn:ItemKNN",
    "ials": "ml.models.ials:IALS",
    "tifuknn": "ml.models.tifu:TIFUKNN",
    "ease": "ml.models.ease:EASE",
    "slim": "ml.models.slim:SLIM",
    "content": "ml.models.content:ContentRecommender",
}

PLUGIN_PACKAGES: tuple[str, ...] = ("ml.models.neural",)

_lazy: dict[str, str] = dict(_BUILTIN)
_classes: dict[str, type] = {}
_plugins_loaded = False

T = TypeVar("T", bound=type)


def register(name: str) -> Callable[[T], T]:
    """Class decorator: register a Recommender subclass under ``name``."""

    def deco(cls: T) -> T:
        existing = _classes.get(name)
        if existing is not None and existing is not cls and (
            existing.__module__, existing.__qualname__
        ) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"model name {name!r} is already registered to {existing.__qualname__}")
        cls.name = name  # type: ignore[attr-defined]
        _classes[name] = cls
        _lazy.setdefault(name, f"{cls.__module__}:{cls.__qualname__}")
        return cls

    return deco


def register_lazy(name: str, path: str) -> None:
    """Register ``"package.module:Class"`` under ``name`` without importing it."""
    if ":" not in path:
        raise ValueError("path must look like 'package.module:ClassName'")
    current = _lazy.get(name)
    if current is not None and current != path:
        raise ValueError(f"model name {name!r} is already registered to {current}")
    _lazy[name] = path


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for package in PLUGIN_PACKAGES:
        try:
            mod = importlib.import_module(package)
        except ModuleNotFoundError as exc:
            if exc.name and package.startswith(exc.name):
                continue  # plugin package not installed / not written yet
            warnings.warn(f"model plugin package {package!r} could not be imported: {exc}", RuntimeWarning, stacklevel=2)
            continue
        except ImportError as exc:
            warnings.warn(f"model plugin package {package!r} could not be imported: {exc}", RuntimeWarning, stacklevel=2)
            continue
        for name, path in getattr(mod, "MODELS", {}).items():
            register_lazy(name, path)


def available_models() -> list[str]:
    """Sorted registered model names (nothing is imported to answer this)."""
    _load_plugins()
    return sorted(set(_lazy) | set(_classes))


def get_model_class(name: str) -> type:
    """The class registered as ``name`` (imports its module on first use)."""
    _load_plugins()
    if name in _classes:
        return _classes[name]
    path = _lazy.get(name)
    if path is None:
        raise ValueError(f"unknown model {name!r}; available: {available_models()}")
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr)
    _classes.setdefault(name, cls)
    if getattr(cls, "name", None) != name:
        cls.name = name
    return cls


# ------------------------------------------------------------------ configs
def config_class(model_cls: type) -> type:
    """A frozen dataclass mirroring ``model_cls.__init__``'s keyword parameters."""
    cached = model_cls.__dict__.get("_config_dataclass")
    if cached is not None:
        return cached
    sig = inspect.signature(model_cls.__init__)
    try:
        hints = typing.get_type_hints(model_cls.__init__)
    except Exception:  # unresolvable annotations: fall back to no type checks
        hints = {}
    fields = []
    for p in sig.parameters.values():
        if p.name == "self" or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            continue
        ann = hints.get(p.name, Any)
        if p.default is inspect.Parameter.empty:
            fields.append((p.name, ann))
        else:
            fields.append((p.name, ann, dataclasses.field(default=p.default)))
    cfg = dataclasses.make_dataclass(f"{model_cls.__name__}Config", fields, frozen=True)
    model_cls._config_dataclass = cfg
    return cfg


def _type_ok(value: Any, ann: Any) -> bool:
    if ann is Any or ann is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(ann)
    if origin is typing.Union or origin is types.UnionType:
        return any(_type_ok(value, a) for a in typing.get_args(ann))
    if origin is typing.Literal:
        return value in typing.get_args(ann)
    if ann is type(None):
        return value is None
    if ann is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ann is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if ann is bool:
        return isinstance(value, bool)
    if ann is str:
        return isinstance(value, str)
    if origin in (list, tuple, typing.Sequence):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    if isinstance(ann, type):
        return isinstance(value, ann)
    return True


def model_from_config(config: dict[str, Any] | str) -> Any:
    """Build an unfitted model from ``{"name": ..., **hyperparameters}``.

    A plain string is a name with default hyperparameters.  Unknown names,
    unknown parameters and wrongly typed values raise ``ValueError``.
    """
    if isinstance(config, str):
        config = {"name": config}
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError("model config must be a dict with a 'name' key")
    params = {k: v for k, v in config.items() if k != "name"}
    cls = get_model_class(config["name"])
    cfg_cls = config_class(cls)
    fields = {f.name: f for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for model {config['name']!r}; valid: {sorted(fields)}")
    hints = {f.name: f.type for f in dataclasses.fields(cfg_cls)}
    for key, value in params.items():
        if not _type_ok(value, hints[key]):
            raise ValueError(f"parameter {key!r}={value!r} of model {config['name']!r} should be {hints[key]}")
    try:
        cfg = cfg_cls(**params)
    except TypeError as exc:
        raise ValueError(f"invalid config for model {config['name']!r}: {exc}") from None
    model = cls(**dataclasses.asdict(cfg))
    model._validate_params()
    return model


def model_to_config(model: Any) -> dict[str, Any]:
    """Inverse of :func:`model_from_config`: ``{"name": ..., **get_params()}``."""
    name = getattr(model, "name", None)
    if not name:
        raise ValueError(f"{type(model).__name__} is not registered")
    return {"name": name, **model.get_params()}
