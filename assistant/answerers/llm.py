"""Generative answerers: a local or served LLM writes the answer, verification keeps it honest.

Three backends through llama-index integrations, chosen by `ASSISTANT_LLM`:
`ollama:MODEL` (Ollama), `openai:MODEL` (any OpenAI-compatible server, `OPENAI_BASE_URL`) and
`llamacpp:/path/to/model.gguf` (in-process llama.cpp). Each is checked when it is built (server
reachable, model file present), so a wrong setting fails at start-up rather than mid-answer.

Whatever the model writes, the final Reply only contains sentences that a retrieved passage
supports, each citing the report sentence that supports it (`verify.py`).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import prompts
from assistant.answerers.base import Answerer, AnswererKind, Reply, refusal_text
from assistant.answerers.verify import VerifyTuning, verify
from assistant.budget import count_tokens, fit_passages
from assistant.citations import strip_markers
from assistant.config import Settings
from assistant.models import Turn
from assistant.streaming import AnswerStream
from index import Embedder, Query
from index.common.errors import ConfigError, LLMError
from index.common.types import Passage, Retrieved

# Answers are a few short sentences; a cap keeps a looping small model from running on.
DEFAULT_MAX_TOKENS = 256
MAX_SENTENCES = 3
# A standalone question is one line: stop reading the model once it has written one.
CONDENSE_MAX_CHARS = 400
HISTORY_TURNS = 6
HISTORY_TURN_CHARS = 600
PROBE_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 120.0

_FENCE = re.compile(r"<\s*/?\s*source\b", re.IGNORECASE)


class LLMAnswerer(Answerer):
    """Answers with a llama-index LLM from numbered, fenced passages, then verifies citations."""

    generative = True

    def __init__(
        self,
        llm: Any,
        name: str,
        context_tokens: int,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        embedder: Embedder | None = None,
        tuning: VerifyTuning = VerifyTuning(),
    ) -> None:
        self.llm = llm
        self.name = name
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self.embedder = embedder
        self.tuning = tuning

    # --- answering -----------------------------------------------------------------------

    def answer(self, question: Query, found: Retrieved) -> Reply:
        """The verified reply (the streamed draft is discarded)."""
        return self.stream(question, found).result()

    def stream(self, question: Query, found: Retrieved) -> AnswerStream[Reply]:
        """The model's text deltas as they arrive, then the verified Reply.

        The final answer can differ from the streamed draft: unsupported sentences are dropped
        and markers renumbered to the spans that support them.
        """
        return AnswerStream(self._generate_verified(question, found.passages), Reply)

    def _generate_verified(self, question: Query, passages: Sequence[Passage]) -> Iterator[str | Reply]:
        system = self.render_system()
        budget = fit_passages(
            passages, lambda ps: f"{system}\n\n{self.render_prompt(question.text, ps)}",
            self.context_tokens, self.max_tokens,
        )
        stats = budget.stats()
        if not budget.passages:  # nothing to answer from: no need to ask the model
            reply = Reply.refusal(stats)
            yield reply.answer
            yield reply
            return
        started = time.perf_counter()
        draft = ""
        times: dict[str, float] = {}
        user = self.render_prompt(question.text, budget.passages)
        for delta in self._generate(user, system=system):
            if not draft:
                times["llm_first_token"] = _ms(started)
            draft += delta
            yield delta
        times["llm_generate"] = _ms(started)
        stats["completion_tokens"] = float(count_tokens(draft))
        embed = self.embedder.embed if self.embedder is not None else None
        verification = verify(draft, budget.passages, embed=embed, tuning=self.tuning)
        yield replace(verification.reply(stats), timings=times)

    def render_system(self) -> str:
        """The system message: the rules, including that sources are data, not instructions.

        Rules go in the system message, apart from the sources: small models given one long
        message tend to repeat the rules back instead of answering.
        """
        return prompts.render("answer_system", refusal=refusal_text(), max_sentences=MAX_SENTENCES)

    def render_prompt(self, question: str, passages: Sequence[Passage]) -> str:
        """The user message: `passages` numbered from 1 and fenced as source text, then the question."""
        return prompts.render(
            "answer",
            sources=[
                {"title": fence(p.title).replace('"', "'"), "date": p.date, "text": fence(p.text)}
                for p in passages
            ],
            question=fence(question),
        )

    # --- conversation --------------------------------------------------------------------

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone question from a follow-up and the conversation, written by the model."""
        turns = [t for t in history if t.content.strip()][-HISTORY_TURNS:]
        if not turns:
            return question
        prompt = prompts.render(
            "condense",
            history=[
                {"role": t.role, "content": strip_markers(t.content)[:HISTORY_TURN_CHARS]}
                for t in turns
            ],
            question=question,
        )
        text = ""
        for delta in self._generate(prompt):
            text += delta
            # One line is the whole answer; stopping early saves generating the rest.
            if "\n" in text.strip() or len(text) > CONDENSE_MAX_CHARS:
                break
        return clean_condensed(text) or question

    # --- the model -----------------------------------------------------------------------

    def _generate(self, prompt: str, system: str | None = None) -> Iterator[str]:
        """Text deltas from the model's chat stream; backend failures become LLMError."""
        from llama_index.core.llms import ChatMessage

        messages = [ChatMessage(role="user", content=prompt)]
        if system:
            messages.insert(0, ChatMessage(role="system", content=system))
        try:
            for chunk in self.llm.stream_chat(messages):
                if chunk.delta:
                    yield chunk.delta
        except LLMError:
            raise
        except Exception as exc:  # connection reset, server error, context overflow
            raise LLMError(f"{self.name} failed while generating: {exc}") from exc


def fence(text: str) -> str:
    """Text with anything that looks like a `<source>` tag defused, so a report cannot close
    its own fence and pose as instructions outside it."""
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹"), text)


def clean_condensed(text: str) -> str:
    """The first line of a condensed question, without labels or quotes around it."""
    for line in text.strip().splitlines():
        line = re.sub(r"^\s*(standalone question|question)\s*:\s*", "", line.strip(), flags=re.I)
        line = line.strip().strip('"“”\'').strip()
        if line:
            return line[:CONDENSE_MAX_CHARS]
    return ""


# --- building the backends ---------------------------------------------------------------


def ollama_answerer(model: str, settings: Settings, embedder: Embedder) -> LLMAnswerer:
    """`ollama:MODEL`: a model served by Ollama at OLLAMA_HOST (LLMError when unreachable)."""
    return _answerer(f"ollama:{model}", _ollama(model, settings), settings, embedder)


def openai_answerer(model: str, settings: Settings, embedder: Embedder) -> LLMAnswerer:
    """`openai:MODEL`: any OpenAI-compatible server at OPENAI_BASE_URL."""
    return _answerer(f"openai:{model}", _openai(model, settings), settings, embedder)


def llamacpp_answerer(path: str, settings: Settings, embedder: Embedder) -> LLMAnswerer:
    """`llamacpp:/path/to/model.gguf`: a local GGUF file run in process (ConfigError when missing)."""
    return _answerer(f"llamacpp:{path}", _llamacpp(path, settings), settings, embedder)


def _answerer(name: str, llm: Any, settings: Settings, embedder: Embedder) -> LLMAnswerer:
    return LLMAnswerer(llm, name, settings.llm_context_tokens, settings.llm_max_tokens, embedder)


OLLAMA = AnswererKind("ollama:MODEL", needs_target=True, make=ollama_answerer)
OPENAI = AnswererKind("openai:MODEL", needs_target=True, make=openai_answerer)
LLAMACPP = AnswererKind("llamacpp:/path/to/model.gguf", needs_target=True, make=llamacpp_answerer)


def _ollama(model: str, settings: Settings) -> Any:
    from llama_index.llms.ollama import Ollama

    base = _with_scheme(settings.ollama_host).rstrip("/")
    tags = _probe(f"{base}/api/tags", {}, what=f"Ollama at {base}",
                  fix="start it with `ollama serve` or set OLLAMA_HOST")
    names = {m.get("name") for m in tags.get("models", [])} | {
        m.get("model") for m in tags.get("models", [])}
    if model not in names and f"{model}:latest" not in names:
        have = ", ".join(sorted(n for n in names if n)) or "none"
        raise ConfigError(
            f"Ollama at {base} has no model {model!r}; run `ollama pull {model}` (it has: {have})"
        )
    return Ollama(
        model=model, base_url=base, temperature=0.0,
        context_window=settings.llm_context_tokens, request_timeout=REQUEST_TIMEOUT_S,
        additional_kwargs={"num_predict": settings.llm_max_tokens},
    )


def _openai(model: str, settings: Settings) -> Any:
    from llama_index.llms.openai_like import OpenAILike

    base = settings.openai_base_url.rstrip("/")
    key = settings.openai_api_key or "none"
    _probe(f"{base}/models", {"Authorization": f"Bearer {key}"},
           what=f"the OpenAI-compatible server at {base}",
           fix="start the server or set OPENAI_BASE_URL (e.g. http://127.0.0.1:8000/v1)")
    return OpenAILike(
        model=model, api_base=base, api_key=key, is_chat_model=True,
        context_window=settings.llm_context_tokens, max_tokens=settings.llm_max_tokens, temperature=0.0,
        timeout=REQUEST_TIMEOUT_S, max_retries=1,
    )


def _llamacpp(path: str, settings: Settings) -> Any:
    model_path = Path(path).expanduser()
    if not model_path.is_file():
        raise ConfigError(
            f"llama.cpp model file not found: {model_path} "
            "(ASSISTANT_LLM=llamacpp:/path/to/model.gguf)"
        )
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as exc:
        raise ConfigError(
            "ASSISTANT_LLM=llamacpp:... needs the llamacpp extra: pip install '.[llamacpp]'"
        ) from exc
    template = ChatTemplate()
    try:
        llm = LlamaCPP(
            model_path=str(model_path), temperature=0.0, max_new_tokens=settings.llm_max_tokens,
            context_window=settings.llm_context_tokens, verbose=False,
            messages_to_prompt=template.messages_to_prompt,
            completion_to_prompt=template.completion_to_prompt,
        )
    except Exception as exc:  # not a GGUF file, unsupported architecture, out of memory
        raise LLMError(f"llama.cpp cannot load {model_path}: {exc}") from exc
    template.bind(llm._model)
    if template.stop:
        llm.generate_kwargs["stop"] = template.stop
    return llm


class ChatTemplate:
    """Formats chat messages with the chat template stored in the GGUF file itself.

    Instruction-tuned models answer far better inside their own template than as raw text, and
    the file knows its template, so no per-model prompt format has to be configured.
    """

    def __init__(self) -> None:
        self._formatter: Any = None
        self.stop: list[str] = []

    def bind(self, model: Any) -> None:
        """Read the template and special tokens from a loaded `llama_cpp.Llama`."""
        template = (getattr(model, "metadata", None) or {}).get("tokenizer.chat_template")
        if not template:
            return
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def token_text(token_id: int) -> str:
            try:
                return model._model.token_get_text(token_id) if token_id != -1 else ""
            except Exception:  # older llama-cpp-python: no special token text
                return ""

        eos = token_text(model.token_eos())
        self._formatter = Jinja2ChatFormatter(
            template=template, eos_token=eos, bos_token=token_text(model.token_bos()),
            stop_token_ids=[model.token_eos()],
        )
        self.stop = [eos] if eos else []

    def messages_to_prompt(self, messages: Sequence[Any]) -> str:
        """The prompt for a chat, in the model's template when it has one."""
        if self._formatter is None:
            from llama_index.core.base.llms.generic_utils import messages_to_prompt

            return messages_to_prompt(messages)
        response = self._formatter(
            messages=[{"role": str(m.role.value), "content": m.content or ""} for m in messages]
        )
        return response.prompt

    def completion_to_prompt(self, completion: str) -> str:
        """A plain completion as a one-message chat."""
        from llama_index.core.llms import ChatMessage

        return self.messages_to_prompt([ChatMessage(role="user", content=completion)])


def _probe(url: str, headers: dict[str, str], what: str, fix: str) -> dict[str, Any]:
    """GET `url` with a short timeout; an unreachable server is an LLMError that says what to do."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise ConfigError(f"{what} rejected the API key (OPENAI_API_KEY): HTTP {exc.code}")
        raise LLMError(f"{what} answered HTTP {exc.code} to {url}; {fix}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LLMError(f"cannot reach {what} ({reason}); {fix}") from None
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise LLMError(f"{what} did not answer JSON at {url}; {fix}") from None
    return data if isinstance(data, dict) else {}


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"http://{url}"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
