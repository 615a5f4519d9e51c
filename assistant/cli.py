"""The `assistant` command: ingest, ask, chat, retrieve, docs here; serve, eval, bench,
conversations and users are registered subcommands (assistant/plugins.py) that this module never imports (docs/interface.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from assistant import plugins
from assistant.config import Settings
from index.common.errors import AssistantError, InputError
from index.common.types import IndexingInfo

EXIT_OK, EXIT_FATAL, EXIT_PARTIAL = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Ask questions of your reports; every answer cites the passage that says so.",
    )
    parser.add_argument("--home", help="where the store lives (ASSISTANT_HOME, default ./.assistant)")
    parser.add_argument("--chroma-url", help="a Chroma server, http://host:port (ASSISTANT_CHROMA_URL)")
    parser.add_argument("--collection", help="collection name (ASSISTANT_COLLECTION, default reports)")
    parser.add_argument("--llm", help="answerer: extractive, ollama:M, openai:M, llamacpp:PATH (ASSISTANT_LLM)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="index files and folders (.txt .md .html .htm .pdf .docx)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--date", help="publication date of every file given (YYYY-MM-DD); "
                                  "a file's NAME.EXT.meta.json sidecar beats it")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    # docs/interface.md: `assistant ingest PATH... --collection C`; SUPPRESS keeps `assistant --collection C
    # ingest ...` working too.
    p.add_argument("--collection", default=argparse.SUPPRESS,
                   help="collection name (ASSISTANT_COLLECTION, default reports)")

    for name, help_text in (("ask", "answer one question"), ("retrieve", "show the best passages")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("text", metavar="QUESTION" if name == "ask" else "QUERY")
        p.add_argument("--k", type=int, help="how many passages to use")
        p.add_argument("--as-of", help="ignore reports published after this date (YYYY-MM-DD)")
        p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("chat", help="a conversation in the terminal, saved (see `conversations`)")
    p.add_argument("--resume", metavar="ID", help="go on with a saved conversation")
    p.add_argument("--k", type=int, help="how many passages to use")
    p.add_argument("--as-of", help="ignore reports published after this date (YYYY-MM-DD)")

    p = sub.add_parser("timeline", help="the reports about a topic in date order, each with its cited sentence")
    p.add_argument("topic", metavar="TOPIC", help="a name, an event or a question")
    p.add_argument("--from", dest="date_from", help="only reports published from this date (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", help="only reports published up to this date (YYYY-MM-DD)")
    p.add_argument("--as-of", help="as known on this date: reports published after it left out (YYYY-MM-DD)")
    p.add_argument("--k", type=int, help="most events to show (default 20)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    docs = sub.add_parser("docs", help="list, summarize or delete indexed reports")
    docs_sub = docs.add_subparsers(dest="docs_command", required=True, metavar="ACTION")
    p = docs_sub.add_parser("list", help="list indexed reports")
    p.add_argument("--json", action="store_true")
    p = docs_sub.add_parser("delete", help="remove a report from the index")
    p.add_argument("doc_id")
    p = docs_sub.add_parser("summary", help="a report's summary in its own sentences, each cited")
    p.add_argument("doc_id")
    p.add_argument("--json", action="store_true")

    for name, command in plugins.commands().items():
        command.add_arguments(sub.add_parser(name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `assistant` command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.load({
            "home": args.home, "chroma_url": args.chroma_url,
            "collection": getattr(args, "collection", None), "llm": args.llm,
            "host": getattr(args, "host", None), "port": getattr(args, "port", None),
        })
        if args.command in _COMMANDS:
            return _COMMANDS[args.command](settings, args)
        return plugins.commands()[args.command].run(settings, args)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    except KeyboardInterrupt:
        return 130


def _open(settings: Settings) -> Any:
    from assistant.core import Assistant

    return Assistant.open(settings)


def _cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from index.common.dates import parse_day

    given = parse_day(args.date, "--date")  # before the model loads, naming the flag
    # Files and chunks done on stderr: a bar on a terminal, else a line now and then (stdout
    # keeps only the result, so `--json` stays exactly the interface's shape).
    report = _open(settings).ingest(args.paths, date=given, progress=True)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for label, items in (("added", report.added), ("updated", report.updated),
                             ("unchanged", report.unchanged)):
            for item in items:
                print(f"{label:9} {item}")
        for twin in report.duplicates:
            print(f"duplicate {twin['path']}: the same text as report {twin['of']}, indexed as its alias")
        for failure in report.failed:
            print(f"failed    {failure['path']}: {failure['error']}", file=sys.stderr)
        print(f"{report.documents} documents, {report.chunks} chunks in the index")
    return EXIT_PARTIAL if report.failed else EXIT_OK


def _print_answer(answer: Any) -> None:
    if answer.short is not None:
        print(f"{answer.short.text} [{answer.short.n}]")
        print()
    print(answer.answer)
    if answer.citations:
        print()
        for c in answer.citations:
            when = f", {c.date}" if c.date else ""
            print(f"[{c.n}] {c.title}{when} ({c.source}, chars {c.start}-{c.end})")
            print(f"    “{c.quote}”")


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    answer = _open(settings).ask(args.text, k=args.k, as_of=args.as_of)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2))
    else:
        _print_answer(answer)
    return EXIT_OK


def _cmd_retrieve(settings: Settings, args: argparse.Namespace) -> int:
    passages = _open(settings).retrieve(args.text, k=args.k, as_of=args.as_of)
    if args.json:
        print(json.dumps({"passages": [p.to_dict() for p in passages]}, indent=2))
        return EXIT_OK
    for i, p in enumerate(passages, 1):
        when = f", {p.date}" if p.date else ""
        print(f"{i}. {p.title}{when} — {p.source} [{p.start}:{p.end}] score {p.score:.4f}")
        print(f"   {p.text[:300]}{'…' if len(p.text) > 300 else ''}")
    return EXIT_OK


def _cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.saved_chat import NEW, ask_saved
    from assistant.users import LOCAL

    assistant = _open(settings)
    conversation = args.resume or NEW
    if args.resume:
        saved = assistant.conversations.get(LOCAL.name, args.resume)  # NotFoundError: exit 1
        print(f"Conversation {saved['id']}: {saved['title']}")
        for turn in saved["turns"]:
            print(f"you> {turn['question']}\nassistant> {turn['answer']['answer']}")
    print("Ask about your reports. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            question = ""
        if not question:
            if conversation != NEW:
                print(f"saved as conversation {conversation}: `assistant chat --resume {conversation}` goes on")
            return EXIT_OK
        try:
            print("assistant> ", end="", flush=True)
            stream = ask_saved(assistant, LOCAL.name, conversation, question, k=args.k, as_of=args.as_of)
            for delta in stream:
                print(delta, end="", flush=True)
            answer = stream.result()
            print()
        except InputError as exc:
            print(f"\nerror: {exc}")
            continue
        conversation = answer.conversation or conversation
        for c in answer.citations:
            print(f"  [{c.n}] {c.title} — “{c.quote}”")


def _cmd_timeline(settings: Settings, args: argparse.Namespace) -> int:
    from index.common.dates import parse_day

    # The dates before the model loads, each named by its flag.
    dates = {"date_from": parse_day(args.date_from, "--from"), "date_to": parse_day(args.date_to, "--to"),
             "as_of": parse_day(args.as_of, "--as-of")}
    timeline = _open(settings).timeline(args.topic, k=args.k, **dates)
    if args.json:
        print(json.dumps(timeline.to_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    for e in timeline.events:
        print(f"{e.date}  {e.title} ({e.source})")
        print(f"    “{e.sentence.quote}” [{e.sentence.n}]")
        if e.also_in:
            print(f"    also in: {', '.join(e.also_in)}")
    if timeline.message:
        print(timeline.message)
    elif timeline.undated:
        print(f"{timeline.undated} undated report{'s' if timeline.undated > 1 else ''} about it left out")
    return EXIT_OK


def _print_summary(summary: Any) -> None:
    if summary.citations:
        c = summary.citations[0]
        print(f"{c.title}{f', {c.date}' if c.date else ''} ({c.source})\n")
    print(summary.summary)
    if summary.citations:
        print("\n" + "  ".join(f"[{c.n}] chars {c.start}-{c.end}" for c in summary.citations))


def _cmd_docs(settings: Settings, args: argparse.Namespace) -> int:
    assistant = _open(settings)
    if args.docs_command == "summary":
        summary = assistant.summary(args.doc_id)
        if args.json:
            print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
        else:
            _print_summary(summary)
        return EXIT_OK
    if args.docs_command == "delete":
        info = assistant.delete(args.doc_id)
        print(f"deleted {info.doc_id} {info.title} ({info.source})")
        return EXIT_OK
    docs, indexing = assistant.documents(), assistant.indexing()
    if args.json:
        print(json.dumps({"documents": [d.to_dict() for d in docs],
                          "indexing": [d.to_dict() for d in indexing]}, indent=2))
        return EXIT_OK
    for d in [*docs, *indexing]:
        when = f"{d.date} ({d.date_source})" if d.date and d.date_source else d.date or "-" * 10
        state = f"  indexing {d.indexed_chars / max(d.chars, 1):.0%}" if isinstance(d, IndexingInfo) else ""
        print(f"{d.doc_id}  {when:21}  {d.chunks:4} chunks  {d.title}  ({d.source}){state}")
    print(f"{len(docs)} documents" + (f", {len(indexing)} being indexed" if indexing else ""))
    return EXIT_OK


_COMMANDS = {
    "ingest": _cmd_ingest,
    "ask": _cmd_ask,
    "retrieve": _cmd_retrieve,
    "chat": _cmd_chat,
    "docs": _cmd_docs,
    "timeline": _cmd_timeline,
}

if __name__ == "__main__":
    sys.exit(main())
