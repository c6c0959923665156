"""Every channel module that stores payloads can have them replayed from quarantine."""

from __future__ import annotations

import importlib
import pkgutil

import orderhub.channels
from orderhub.channels.registry import PAYLOAD_PARSERS


def test_every_payload_source_has_a_replay_parser() -> None:
    sources = set()
    for module_info in pkgutil.walk_packages(orderhub.channels.__path__, "orderhub.channels."):
        module = importlib.import_module(module_info.name)
        source = getattr(module, "SOURCE", None)
        if isinstance(source, str):
            sources.add(source)
    assert len(sources) >= 13
    assert sources <= set(PAYLOAD_PARSERS)
