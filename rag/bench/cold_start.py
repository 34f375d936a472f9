"""Cold start: a new ``ragbot ask`` process against llama.cpp's own floor.

The floor is what no application can avoid: loading the model in a new
process (``python -c "Llama(model_path)"``, interpreter start included) plus
one answer from a warm engine. ``overhead = cold start - raw load - warm
answer`` is what ragbot adds (imports, the language detector's and Babel's
tables, opening the store, llama-index set-up, teardown), and ``ratio =
cold start / (raw load + warm answer)`` reads the same on any CPU.

One question is not enough: its warm answer is a single measurement, and a
process that happens to answer it a second faster or slower moves the ratio
by a tenth (1.06 and 1.28 in two runs on one machine). So several questions
are each asked in new processes, and the cold start and the warm answer are
both means over those questions, paired question by question.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rag.bench.measure import percentile, ratio, run_measured
from rag.config import Settings

# The model loaded as ragbot loads it: same context, threads and weight
# repacking (llama-cpp-python has no argument for the last; see rag.llm).
_RAW_LOAD = """
import sys
import llama_cpp, llama_cpp.llama
if sys.argv[4] == "no-repack":
    default = llama_cpp.llama_model_default_params
    def without_repacking():
        params = default()
        params.use_extra_bufts = False
        return params
    llama_cpp.llama.llama_cpp.llama_model_default_params = without_repacking
llama_cpp.Llama(model_path=sys.argv[1], n_ctx=int(sys.argv[2]), n_threads=int(sys.argv[3]), verbose=False)
"""


# Engine.load's steps, the same functions in the same order (keep the two in
# step), timed one after another in a new process: the engine overlaps the
# chat model with the rest (docs/performance.md, "Start-up"), so the cold start itself
# cannot say what each step costs.
_STEPS = """
import json, time
started = time.perf_counter()
steps = {}
def step(name):
    global started
    now = time.perf_counter()
    steps[name] = round(now - started, 3)
    started = now
import bot.cli
from rag.config import load_settings
from rag.embeddings import build_embedding, embedding_identity
from rag.engine import ready_chat_model
from rag.language import preload_language_models
from rag.names import load_name_tables
from rag.store import Store
step("imports")
settings = load_settings()
Store(settings).collection(embedding_identity(settings))
step("store")
build_embedding(settings)
step("embedding_model")
preload_language_models()
step("language_detector")
load_name_tables()
step("name_tables")
ready_chat_model(settings)
step("chat_model")
print(json.dumps(steps))
"""


def startup_steps(env: dict[str, str]) -> dict[str, float] | None:
    """Seconds per start-up step, one after another in a new process (None if it fails)."""
    run = subprocess.run([sys.executable, "-c", _STEPS], env=env, capture_output=True, text=True)
    if run.returncode != 0 or not run.stdout.strip():
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])


def raw_load_seconds(settings: Settings, repeats: int) -> float | None:
    """Median wall time of a new process that only loads the embedded model (None with Ollama)."""
    if settings.llm_backend != "embedded":
        return None
    from rag.assets import embedded_llm_path

    path = embedded_llm_path(settings.embedded_llm, settings.model_dir)
    repack = "repack" if settings.llm_weight_repack else "no-repack"
    command = [sys.executable, "-c", _RAW_LOAD, str(path), str(settings.llm_context_tokens), str(settings.llm_threads), repack]
    seconds = []
    for _ in range(repeats):
        run = run_measured(command, dict(os.environ))
        if run.code != 0:
            return None
        seconds.append(run.seconds)
    return percentile(seconds, 50)


def bench_cold_start(settings: Settings, storage: Path, asked: list[tuple[str, float]], repeats: int) -> dict:
    """New ``ragbot ask`` processes for each ``(question, warm answer seconds)``, against the floor.

    Each question runs ``repeats`` times; ``cold_s`` is the mean over the
    questions of each one's median, ``warm_answer_s`` the mean of the same
    questions' warm answers, so the two are paired.
    """
    env = {**os.environ, "RAGBOT_STORAGE_DIR": str(storage), "RAGBOT_MODEL_DIR": str(settings.model_dir)}
    medians, peaks, slowest = [], [], 0.0
    for question, _warm in asked:
        seconds = []
        for _ in range(repeats):
            run = run_measured([sys.executable, "-m", "bot.cli", "ask", "--json", question], env)
            if run.code != 0:
                raise RuntimeError(f"ragbot ask failed in the cold-start run: {run.stderr_tail[-300:]}")
            seconds.append(run.seconds)
            peaks.append(run.peak_mb)
        medians.append(percentile(seconds, 50))
        slowest = max(slowest, *seconds)
    cold = sum(medians) / len(medians)
    warm = sum(w for _, w in asked) / len(asked)
    raw_load = raw_load_seconds(settings, repeats)
    floor = raw_load + warm if raw_load is not None else None
    return {
        "questions": len(asked),
        "runs": repeats,
        "cold_s": round(cold, 2),
        "cold_per_question_s": [round(m, 2) for m in medians],
        "max_s": round(slowest, 2),
        "raw_load_s": None if raw_load is None else round(raw_load, 2),
        "warm_answer_s": round(warm, 2),
        "warm_per_question_s": [round(w, 2) for _, w in asked],
        "overhead_s": None if floor is None else round(cold - floor, 2),
        "ratio": ratio(cold, floor),
        "ask_peak_rss_mb": round(max(peaks)),
        "steps_s": startup_steps(env),
    }
