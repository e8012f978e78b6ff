"""What ics_sim changes about Mesa, in one place: it imports only the two modules it uses
(:func:`import_core`), and Mesa 3.3 keeps every model alive (:func:`hold_models_weakly`).

The model needs ``mesa.Agent`` and ``mesa.Model`` and nothing else of Mesa; import them from here
(``from ics_sim.model.mesa_compat import Agent, Model``), never as ``mesa.Agent``.
"""

from __future__ import annotations

import collections
import importlib
import importlib.abc
import importlib.util
import inspect
import itertools
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, ModuleType

#: the modules of Mesa that ics_sim uses (with what they import themselves)
CORE = ("mesa.agent", "mesa.model")


class _ResumePackage(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Completes the ``mesa`` package left unexecuted by :func:`import_core` when anyone imports
    ``mesa`` (or any module of it) for the first time: the import machinery then runs Mesa's
    ``__init__.py`` as always, in the package object that already holds the core modules as
    attributes (``mesa.agent``, ``mesa.model``), so the package is what a plain ``import mesa``
    gives, with the very classes the model was built on. Used once, then removed."""

    def __init__(self, spec: importlib.machinery.ModuleSpec, package: ModuleType) -> None:
        self._spec, self._package = spec, package

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, D102
        if fullname != self._spec.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self._spec.origin, is_package=True)

    def create_module(self, spec):  # noqa: ANN001, D102
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        return self._package

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102
        spec = self._spec
        module.__spec__ = spec  # Mesa's own spec and loader, as after a plain import
        spec._initializing = True  # as the import machinery marks a package being executed
        try:
            spec.loader.exec_module(module)
        finally:
            spec._initializing = False


def _outer_frames(frame: FrameType | None, context: int = 1) -> list[inspect.FrameInfo]:
    """:func:`inspect.getouterframes` without reading any source: each frame with its file, line
    and function name, and no lines of context."""
    frames = []
    while frame is not None:
        code = frame.f_code
        frames.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
        frame = frame.f_back
    return frames


def _module_of_frame(getmodule):  # noqa: ANN001, ANN202
    """:func:`inspect.getmodule` that finds a frame's module by its globals' ``__name__`` when
    that module's file is the frame's file (what ``getmodule`` would find by scanning every
    module's file, resolving each path); anything else is left to ``getmodule``."""

    def module_of(object, _filename=None):  # noqa: A002, ANN001, ANN202  (getmodule's signature)
        if inspect.isframe(object):
            module = sys.modules.get(object.f_globals.get("__name__", ""))
            if module is not None and getattr(module, "__file__", None) == object.f_code.co_filename:
                return module
        return getmodule(object, _filename)

    return module_of


@contextmanager
def _frames_without_source() -> Iterator[None]:
    """While Mesa's core modules are imported, :func:`inspect.stack`,
    :func:`inspect.getouterframes` and :func:`inspect.getmodule` (of a frame) read no sources.

    Why: ``mesa.model`` names its logger from ``inspect.stack()[1]`` (the module's frame) and its
    ``Model.__init__`` logger from ``inspect.getouterframes(...)[1][3]`` (the class's name),
    and the module of its frame with ``inspect.getmodule``; those functions read the source
    lines of every frame of the importing stack and look up each frame's module by resolving the
    path of every module in ``sys.modules``: 0.2-0.4 s when the model is imported from deep inside
    ics_sim with pandas and Hydra loaded. Mesa reads only the frame, the function name and the
    frame's module, which these give unchanged (the same logger, the same messages). Restored at
    once, before anything else can call them."""
    stack, outer, getmodule = inspect.stack, inspect.getouterframes, inspect.getmodule
    inspect.getouterframes = _outer_frames
    inspect.stack = lambda context=1: _outer_frames(sys._getframe(1), context)
    inspect.getmodule = _module_of_frame(getmodule)
    try:
        yield
    finally:
        inspect.stack, inspect.getouterframes, inspect.getmodule = stack, outer, getmodule


def import_core(name: str = "mesa", core: tuple[str, ...] = CORE) -> None:
    """Import Mesa's agent and model modules without the rest of Mesa (issue 13).

    ``import mesa`` runs Mesa's ``__init__.py``, which imports every part of Mesa: the spaces
    (networkx), ``mesa.experimental`` (scipy.spatial), the batch runner (tqdm, multiprocessing)
    and the data collector (pandas), about half a second before a run that uses none of them.
    So when Mesa is not imported yet, the ``mesa`` package is created without running its
    ``__init__.py``, ``mesa.agent`` and ``mesa.model`` are imported into it, and the package is
    taken out of ``sys.modules`` again with :class:`_ResumePackage` waiting for it.

    Why this changes nothing for anyone else: whoever imports ``mesa`` (or ``mesa.space`` etc.)
    later, in the same process, gets the package through the ordinary import machinery, its
    ``__init__.py`` run then, exactly as on a first import; ``mesa.agent`` and ``mesa.model`` are
    reused from ``sys.modules`` (as any second import reuses them), so ``mesa.Agent`` and
    ``mesa.Model`` are the classes the model subclasses. If Mesa was imported before ics_sim, it
    is used as it is. If a Mesa version's ``mesa.model`` needs its package's ``__init__.py``
    (a ``from mesa import ...``), the attempt is undone and Mesa imported whole, as before; on
    Mesa 3.4 and 3.5 ``mesa.model`` imports ``mesa.experimental`` itself, so less is saved there.

    Args:
        name: the package (another name only in tests).
        core: its modules to import.
    """
    if any(module in sys.modules for module in (name, *core)):
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        importlib.import_module(name)  # let the import machinery report it
        return
    before = set(sys.modules)
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    try:
        with _frames_without_source():
            for module in core:
                __import__(module)  # the import statement's way (so -X importtime lists it)
    except Exception:  # noqa: BLE001  (undo, and import the package whole as a plain import would)
        for module in set(sys.modules) - before:
            if module == name or module.startswith(name + "."):
                del sys.modules[module]
        for module in (name, *core):
            __import__(module)
        return
    del sys.modules[name]
    sys.meta_path.insert(0, _ResumePackage(spec, package))


import_core()

from mesa.agent import Agent  # noqa: E402  (after import_core, which decides how Mesa is imported)
from mesa.model import Model  # noqa: E402

__all__ = ["CORE", "Agent", "Model", "hold_models_weakly", "import_core"]


class _WeakCounters(weakref.WeakKeyDictionary):
    """Agent numbering per model, holding each model weakly (see :func:`hold_models_weakly`)."""

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


def hold_models_weakly() -> None:
    """Mesa 3.3 numbers each model's agents from a class-level ``defaultdict`` keyed by the model
    (``mesa.Agent._ids``), which keeps every model ever built alive: 500 calls of
    :func:`ics_sim.run` grew a process by about 740 MB. Keyed weakly, a model's counter lives as
    long as the model does and no longer, so a result dropped by the caller is freed. Agents are
    numbered exactly as before (from 1 per model). Mesa 3.4+ numbers agents on the model itself
    and has no ``Agent._ids``; then nothing is changed."""
    ids = getattr(Agent, "_ids", None)
    if isinstance(ids, collections.defaultdict):
        weak = _WeakCounters()
        weak.update(ids)
        Agent._ids = weak
