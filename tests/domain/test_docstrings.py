"""The ``Example:`` sections of the domain docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import flexcoord.domain

MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.iter_modules(flexcoord.domain.__path__, "flexcoord.domain.")
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
