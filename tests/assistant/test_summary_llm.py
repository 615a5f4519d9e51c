"""A summary written by a real language model (SmolLM2-135M in process through llama.cpp): what it
writes is checked sentence by sentence against the report sentences it cites, as answers are, so
the summary keeps the interface's promises whatever the tiny model says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.assistant.test_llm_answerers import llm_settings, smollm2_path
from tests.conftest import ROOT
from tests.contract import assert_answer_contract

pytestmark = pytest.mark.llm

REPORT = ROOT / "tests" / "data" / "timeline" / "ferry-strike-ends.txt"


def test_a_written_summary_cites_report_sentences_exactly(tmp_path: Path) -> None:
    from assistant.core import Assistant

    assistant = Assistant.open(llm_settings(tmp_path / "home", f"llamacpp:{smollm2_path()}"))
    assert assistant.answerer.generative
    assistant.ingest([REPORT], progress=False)
    (doc,) = assistant.documents()
    summary = assistant.summary(doc.doc_id)
    assert summary.doc_id == doc.doc_id and summary.citations
    # Every sentence carries a marker, every marker one citation, every quote exact: the model's
    # unsupported sentences were dropped, or its summary replaced by the report's own sentences.
    assert_answer_contract({"answer": summary.summary, "refused": False,
                            "citations": [c.to_dict() for c in summary.citations]}, assistant.document_text)
    text = assistant.document_text(doc.doc_id)
    assert all(c.doc_id == doc.doc_id and text[c.start:c.end] == c.quote for c in summary.citations)
