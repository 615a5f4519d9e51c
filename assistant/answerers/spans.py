"""Candidate answers in a sentence, and the kind of answer a question asks for.

News quiz questions ask "which country ...", "which state ...", "how much ...", "who ...";
the sentence that answers them names a country, a state, an amount or a person the question
does not. Small built-in lexicons (countries, US states, months, weekdays) and number patterns
tell those spans apart; no tagger model is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _lexicon(words: str) -> frozenset[str]:
    """Lower-case entries, one per word; a hyphen joins the words of one entry."""
    return frozenset(w.replace("-", " ") for w in words.split())


COUNTRIES = _lexicon("""
afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan bahamas
bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia botswana brazil
brunei bulgaria burundi cambodia cameroon canada chad chile china colombia comoros congo croatia
cuba cyprus czechia denmark djibouti dominica ecuador egypt england eritrea estonia eswatini
ethiopia fiji finland france gabon gambia georgia germany ghana greece greenland grenada guatemala
guinea guyana haiti honduras hungary iceland india indonesia iran iraq ireland israel italy
jamaica japan jordan kazakhstan kenya kiribati korea kosovo kuwait kyrgyzstan laos latvia lebanon
lesotho liberia libya liechtenstein lithuania luxembourg madagascar malawi malaysia maldives mali
malta mauritania mauritius mexico micronesia moldova monaco mongolia montenegro morocco mozambique
myanmar namibia nauru nepal netherlands nicaragua niger nigeria norway oman pakistan palau
palestine panama paraguay peru philippines poland portugal qatar romania russia rwanda samoa
scotland senegal serbia seychelles singapore slovakia slovenia somalia spain sudan suriname sweden
switzerland syria taiwan tajikistan tanzania thailand togo tonga tunisia turkey turkmenistan
tuvalu uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam wales yemen zambia zimbabwe
britain uk usa america gaza
united-states united-kingdom south-korea north-korea south-africa new-zealand saudi-arabia
sri-lanka costa-rica el-salvador ivory-coast dominican-republic united-arab-emirates
great-britain czech-republic south-sudan hong-kong puerto-rico vatican-city
""")
US_STATES = _lexicon("""
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan
minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon pennsylvania
tennessee texas utah vermont virginia washington wisconsin wyoming new-hampshire new-jersey
new-mexico new-york north-carolina north-dakota south-carolina south-dakota rhode-island
west-virginia
""")
MONTHS = _lexicon("january february march april may june july august september october november december")
WEEKDAYS = _lexicon("monday tuesday wednesday thursday friday saturday sunday")
NUMBER_WORDS = _lexicon("""
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
hundreds thousand thousands million millions billion billions trillion dozen dozens half percent
twice
""")
DAY_WORDS = WEEKDAYS | _lexicon("""
yesterday today tomorrow century centuries decade decades ago earlier later week weeks month
months year years
""")
# Capitalized words that do not start a name: sentence openers, pronouns, titles.
NOT_NAMES = MONTHS | DAY_WORDS | _lexicon("""
the a an he she it they we i in on at of this that these those his her its their but and or as
after before when while if for from by with to there some many most all no one also however
other since during although because according both each mr mrs ms dr what who which where how
why former
""")

# Finer kinds, tried before the four coarse ones; an adjective may stand before the noun
# ("which North African country", "which U.S. state").
_KIND_RULES = (
    ("country", re.compile(r"\b(which|what)\s+(\S+\s+){0,2}?(country|countries|nation)\b", re.I)),
    ("state", re.compile(r"\b(which|what)\s+(\S+\s+){0,2}?state\b", re.I)),
    ("month", re.compile(r"\b(which|what|in what) month\b", re.I)),
    ("weekday", re.compile(r"\b(which|what) day of the week\b", re.I)),
    ("year", re.compile(r"\b(which|what) year\b", re.I)),
    ("percent", re.compile(r"\b(what|which) (percentage|percent)\b|\bby what percent", re.I)),
    ("money", re.compile(r"\bhow much (money|did \S+ (cost|pay|raise|earn|sell))|\bhow much\b.*"
                         r"\b(cost|pay|paid|price|worth|fine|raised?|earn|dollars?)\b", re.I)),
    ("person", re.compile(r"\bwho(m|se)?\b|\b(which|what) (person|man|woman|actor|actress|singer|"
                          r"rapper|player|athlete|artist|author|writer|politician|senator|"
                          r"lawmaker|republican|democrat|candidate|celebrity|star|host|"
                          r"billionaire|ceo|executive|director|judge|leader|former|musician)\b",
                          re.I)),
    ("name", re.compile(r"\bwhich\s+\w+", re.I)),
)
# Which span kinds answer a kind of question, fully and in part.
_STRONG = {
    "country": {"country"}, "state": {"state"}, "month": {"month"}, "weekday": {"weekday"},
    "year": {"year"}, "date": {"year", "month", "weekday", "date"}, "percent": {"percent"},
    "money": {"money"}, "number": {"number", "money", "percent"}, "person": {"person"},
    "place": {"name"}, "name": {"name"},
}
_WEAK = {
    "country": {"name"}, "state": {"name"}, "month": {"date"}, "weekday": {"date"},
    "year": {"date"}, "percent": {"number"}, "money": {"number"}, "person": {"name"},
}
_TOKEN = re.compile(r"\$?\d[\d,.]*\d%?|\$?\d%?|[A-Za-z][\w'’.&-]*\w|[A-Za-z]")
_POSSESSIVE = re.compile(r"['’]s$")
YEAR = re.compile(r"(1[0-9]{3}|20[0-9]{2})s?")


def answer_kind(question: str, coarse: str | None) -> str | None:
    """The finest kind of answer `question` asks for: "country", "state", "month", "weekday",
    "year", "percent", "money", "person", then `coarse` (the extractive answerer's
    `question_type`: "number", "date", "place" or "name"), then "name" for any other
    "which <noun>"; None when unclear (yes/no, "what did ..." questions)."""
    for name, pattern in _KIND_RULES[:-1]:
        if pattern.search(question):
            return name
    return coarse or (
        _KIND_RULES[-1][0] if _KIND_RULES[-1][1].search(question) else None)


@dataclass(frozen=True)
class Span:
    """A possible answer in a sentence: lower-case words, and the kinds it can answer."""

    text: str
    kinds: frozenset[str]


def _number_kinds(token: str, following: str) -> set[str]:
    bare = token.lower().rstrip("%")
    if YEAR.fullmatch(bare) and token[0] != "$":
        return {"year", "date"}
    kinds = {"number"}
    if token.startswith("$") or following in ("dollars", "dollar", "pounds", "euros"):
        kinds.add("money")
    if token.endswith("%") or following in ("percent", "per"):
        kinds.add("percent")
    return kinds


def _name_kinds(words: list[str]) -> set[str]:
    low = [w.lower() for w in words]
    grams = {" ".join(low[i:j]) for i in range(len(low)) for j in range(i + 1, min(len(low), i + 3) + 1)}
    kinds = {"name"}
    if grams & COUNTRIES:
        kinds.add("country")
    if grams & US_STATES:
        kinds.add("state")
    if 2 <= len(words) <= 4 and not kinds - {"name"}:
        kinds.add("person")
    return kinds


def answer_spans(sentence: str) -> list[Span]:
    """Names (runs of capitalized words), numbers, amounts, percentages and dates."""
    tokens = _TOKEN.findall(sentence)
    found: list[Span] = []
    run: list[str] = []

    def close() -> None:
        if run:
            found.append(Span(" ".join(run).lower(), frozenset(_name_kinds(run))))
            run.clear()

    for i, token in enumerate(tokens):
        token = _POSSESSIVE.sub("", token)  # "McCarthy's" is the question's "McCarthy"
        low = token.lower()
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if token[0] == "$" or token[0].isdigit():
            close()
            found.append(Span(low, frozenset(_number_kinds(token, following))))
        elif low in NUMBER_WORDS:
            close()
            found.append(Span(low, frozenset({"number"} | ({"percent"} if following == "percent" else set()))))
        elif low in MONTHS or low in DAY_WORDS:
            close()
            kinds = {"date"} | ({"month"} if low in MONTHS else {"weekday"} if low in WEEKDAYS else set())
            found.append(Span(low, frozenset(kinds)))
        elif token[0].isupper() and (run or low not in NOT_NAMES):
            run.append(token)
        else:
            close()
    close()
    return found


def novel(span: Span, question_words: set[str]) -> float:
    """1 when `span` has a word the question lacks (it can answer), else 0."""
    return 0.0 if set(span.text.split()) <= question_words else 1.0


def span_strength(span: Span, kind: str | None, question_words: set[str]) -> float:
    """How well `span` answers a question of `kind` (1 fully, 0.5 in part, 0 not), 0 when the
    question already names all its words."""
    if kind is None or not novel(span, question_words):
        return 0.0
    if span.kinds & _STRONG[kind]:
        return 1.0
    return 0.5 if span.kinds & _WEAK.get(kind, set()) else 0.0


def question_words(question: str) -> set[str]:
    """The question's words as spans spell them (lower case, with and without a possessive):
    a span made only of these names nothing new."""
    tokens = _TOKEN.findall(question)
    return {t.lower() for t in tokens} | {_POSSESSIVE.sub("", t).lower() for t in tokens}
