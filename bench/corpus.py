"""A deterministic corpus of news-length reports built from templates and vocabulary.

Each report has a headline, a dateline and 300-600 words in paragraphs; the same seed always
gives the same corpus, so pipelines and runs compare on identical text.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

CITIES = ["Baghdad", "Nairobi", "Lima", "Jakarta", "Oslo", "Accra", "Manila", "Quito", "Tbilisi",
          "Dhaka", "Lisbon", "Hanoi", "Bogota", "Kyiv", "Dakar", "Santiago", "Amman", "Karachi",
          "Montreal", "Brisbane", "Cairo", "Lagos", "Warsaw", "Seoul", "Valencia", "Tucson"]
PEOPLE = ["Amina Yusuf", "Carlos Mendez", "Li Wei", "Sofia Andersson", "Rahul Mehta", "Grace Otieno",
          "Pieter de Vries", "Fatima Zahra", "John Kirby", "Elena Petrova", "Kwame Mensah",
          "Hiroshi Tanaka", "Maria Lopez", "Omar Haddad", "Anna Kowalska", "David Cohen",
          "Nadia Rahman", "Tomas Novak", "Chen Jing", "Ibrahim Diallo"]
ROLES = ["the finance minister", "a government spokesperson", "the regional governor",
         "the company's chief executive", "a senior police official", "the health minister",
         "an opposition lawmaker", "the central bank governor", "a United Nations envoy",
         "the mayor", "a union leader", "an economist at a local university",
         "the army's chief of staff", "a climate scientist", "the election commission chair"]
ORGS = ["the central bank", "the electoral commission", "the World Health Organization",
        "the ministry of energy", "a regional airline", "the national railway", "the port authority",
        "a coalition of aid groups", "the stock exchange", "the teachers' union",
        "the coast guard", "a mining consortium", "the national weather service", "parliament"]
TOPICS = {
    "economy": (["inflation", "interest rates", "the budget deficit", "fuel prices", "exports",
                 "unemployment", "the currency", "food prices", "foreign investment", "tax revenue"],
                ["rose", "fell", "climbed", "slipped", "surged", "stalled", "recovered", "eased"]),
    "conflict": (["the ceasefire", "rocket attacks", "the border crossing", "peace talks",
                  "the military base", "drone strikes", "the prisoner exchange", "the convoy"],
                 ["collapsed", "resumed", "was extended", "was suspended", "intensified", "held"]),
    "health": (["the outbreak", "vaccination rates", "hospital admissions", "the cholera cases",
                "the clinic network", "malaria infections", "the vaccine rollout"],
               ["doubled", "declined", "spread", "slowed", "peaked", "was contained", "rose"]),
    "weather": (["the floods", "the drought", "the heatwave", "the storm", "river levels",
                 "the wildfire", "the harvest", "rainfall"],
                ["worsened", "eased", "displaced thousands", "destroyed crops", "receded", "spread"]),
    "politics": (["the coalition government", "the reform bill", "the election", "the referendum",
                  "the cabinet reshuffle", "the corruption inquiry", "the new constitution"],
                 ["was approved", "stalled", "was delayed", "was challenged in court", "passed",
                  "drew protests"]),
    "technology": (["the data breach", "the satellite launch", "broadband coverage",
                    "the chip factory", "the payments app", "the power grid upgrade"],
                   ["was delayed", "expanded", "failed", "was completed", "drew criticism"]),
}
OPENERS = [
    "{city} — {Subject} {verb} on {weekday}, {org} said, in a development that {effect}.",
    "Officials in {city} said on {weekday} that {subject} {verb} after weeks of uncertainty.",
    "{Subject} {verb} sharply this week in {city}, according to figures released by {org}.",
    "Residents of {city} woke on {weekday} to news that {subject} {verb}, {role} confirmed.",
]
BODY = [
    "{Person}, {role}, told reporters that the situation was \"{adjective} but manageable\".",
    "According to {org}, {number} people were affected in the first {days} days alone.",
    "The figures mark the {ordinal} such change since {year}, when {subject2} {verb2}.",
    "Analysts had expected {subject} to hold steady, but {reason}.",
    "\"We have seen nothing like this in {years} years,\" said {Person}, who has followed {topic_word} closely.",
    "{Org_cap} said it would publish a full assessment by {month}, and warned that {subject2} could also be affected.",
    "In {city2}, where {number2} residents depend on {subject2}, officials announced emergency measures on {weekday2}.",
    "Critics, including {role2}, accused the authorities of acting too slowly and of ignoring earlier warnings.",
    "The government has set aside {money} to deal with the consequences, {Person2} said.",
    "Local media reported that {number} families had left the area, though the figure could not be independently verified.",
    "{Person2} added that talks with {org2} would continue next week in {city2}.",
    "Data published on {weekday2} showed that {subject2} {verb2} by {percent} percent over the past {period}.",
    "The announcement came as {org2} prepared for a meeting on {subject}, scheduled for {month}.",
    "Some {number2} workers joined a protest outside the offices of {org2} on {weekday2}, demanding {demand}.",
    "It was not immediately clear how the decision would affect {subject2}, {role2} said.",
    "Officials have repeatedly said that {subject} is expected to {outlook} by the end of the year.",
    "Shops in the centre of {city} remained {shop_state}, and public transport ran on a reduced timetable.",
    "The {ordinal} report by {org} found that {percent} percent of households had been hit.",
]
CLOSERS = [
    "A further statement is expected on {weekday2}.",
    "{Org_cap} did not respond to a request for comment.",
    "The next review is due in {month}.",
    "{Person2} said more details would be released in the coming days.",
]
ADJECTIVES = ["serious", "difficult", "unprecedented", "fragile", "worrying", "tense", "complex"]
REASONS = ["a sudden change in demand caught markets off guard", "heavy rain disrupted supply routes",
           "a dispute between ministers delayed the decision", "new data showed a sharper slowdown",
           "a court ruling forced a change of plan", "fighting spread to neighbouring districts"]
DEMANDS = ["higher wages", "better protection", "an independent inquiry", "compensation",
           "the release of detainees", "clean water supplies"]
OUTLOOKS = ["stabilise", "improve gradually", "worsen before it improves", "return to normal"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth", "largest", "first"]
EFFECTS = ["surprised many observers", "could reshape the region's plans",
           "raised fresh concerns among residents", "was widely expected", "drew swift criticism"]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def report(seed: int) -> tuple[str, str]:
    """(file stem, text) of one deterministic report of about 300-600 words."""
    rng = random.Random(seed)
    topic = rng.choice(sorted(TOPICS))
    subjects, verbs = TOPICS[topic]
    target = rng.randint(270, 530)  # the closer and last paragraph add the rest

    def fill(template: str) -> str:
        subject, subject2 = rng.sample(subjects, 2)
        person, person2 = rng.sample(PEOPLE, 2)
        city, city2 = rng.sample(CITIES, 2)
        org, org2 = rng.sample(ORGS, 2)
        role, role2 = rng.sample(ROLES, 2)
        values = {
            "city": city, "city2": city2, "subject": subject, "Subject": _cap(subject),
            "subject2": subject2, "verb": rng.choice(verbs), "verb2": rng.choice(verbs),
            "weekday": rng.choice(WEEKDAYS), "weekday2": rng.choice(WEEKDAYS),
            "org": org, "org2": org2, "org_cap": _cap(org), "Org_cap": _cap(org),
            "effect": rng.choice(EFFECTS), "role": role, "role2": role2,
            "Person": person, "Person2": person2, "adjective": rng.choice(ADJECTIVES),
            "number": f"{rng.randint(120, 98000):,}", "number2": f"{rng.randint(50, 4000):,}",
            "days": rng.randint(2, 30), "ordinal": rng.choice(ORDINALS),
            "year": rng.randint(1990, 2021), "years": rng.randint(5, 40),
            "reason": rng.choice(REASONS), "topic_word": topic, "month": rng.choice(MONTHS),
            "money": f"${rng.randint(2, 900)} million", "percent": rng.randint(2, 75),
            "period": rng.choice(["month", "quarter", "year", "six weeks"]),
            "demand": rng.choice(DEMANDS), "outlook": rng.choice(OUTLOOKS),
            "shop_state": rng.choice(["closed", "open", "half empty", "shuttered"]),
        }
        return template.format(**values)

    city = rng.choice(CITIES)
    subject = rng.choice(subjects)
    headline = f"{_cap(subject)} {rng.choice(verbs)} in {city} as {rng.choice(ORGS)} weighs response"
    day = date(2019, 1, 1) + timedelta(days=rng.randint(0, 5 * 365))
    paragraphs = [fill(rng.choice(OPENERS))]
    words = len(paragraphs[0].split())
    while words < target:
        paragraph = " ".join(fill(rng.choice(BODY)) for _ in range(rng.randint(2, 4)))
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    paragraphs.append(fill(rng.choice(CLOSERS)))
    text = f"{headline}\n\nPublished {day.isoformat()}\n\n" + "\n\n".join(paragraphs) + "\n"
    return f"report-{seed:06d}", text


def write_corpus(folder: Path, count: int, first_seed: int = 0) -> list[Path]:
    """Write `count` reports as .txt files under `folder` (existing identical files are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        stem, text = report(seed)
        path = folder / f"{stem}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        paths.append(path)
    return paths


def sentences(count: int, seed: int = 0) -> list[str]:
    """`count` realistic sentences (for synthetic chunks)."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        _, text = report(rng.randint(10**6, 10**7))
        out.extend(s.strip() for s in text.replace("\n", " ").split(". ") if len(s.split()) > 4)
    return out[:count]
