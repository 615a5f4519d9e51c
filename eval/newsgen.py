"""A deterministic generator of a news-style development corpus with known gold articles.

    python -m eval.newsgen OUT_DIR [--stories 2500] [--seed 7]

writes `OUT_DIR/docs/*.txt` (one article per file: a title line, then a dateline
`CITY, Month D, YYYY (Outlet) -` and the body) and `OUT_DIR/testset.jsonl` in the project's
test-set format (docs/interface.md). Stories come from templates filled with varied people, organisations,
places, dates and numbers, so many articles look alike and only the specific facts tell them
apart. About a fifth of the stories are also carried by other outlets as wire copies with small
edits (another title, a dropped or reworded sentence, a later date): near-duplicates whose every
copy is listed as evidence. Some questions carry `as_of` and a relative date ("last week") that
only the publication date resolves. For development only: write it outside the repository.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

FIRST = """Alice Maria James Robert Linda Michael Sarah David Karen Thomas Nadia Omar Priya Chen Lars
Ingrid Mateo Sofia Kwame Amara Yusuf Elena Hiroshi Aiko Pierre Claire Diego Lucia Tomasz Anna Rahul
Fatima Samuel Grace Victor Irene Felix Marta Jonas Leila""".split()
LAST = """Okafor Lindqvist Moreau Tanaka Haddad Novak Fischer Alvarez Kowalski Mensah Petrov Rossi
Nakamura Duarte Brennan Castillo Hansen Ibrahim Keller Lambert Marsh Osei Patel Quinn Reyes Schmidt
Torres Varga Walsh Young Zielinski Abbott Barros Coleman Dimitrov Ellison Ferreira Gallo Holt Iqbal""".split()
CITIES = """Dunmore Halford Brackenridge Westport Carrow Linfield Ashbury Kestrel Bay Morrow Falls
Pinecrest Redwater Stonebridge Elmhurst Glenview Harrowgate Ironvale Juniper Creek Kingsley Lakemont
Millbrook Northfield Oakridge Port Alden Queensford Riverton Saltmarsh Thornbury Upton Valemont
Whitcombe Yarrow Zenith Harbor Brightwater Coldspring Deepdale Eastwick Foxley""".split("\n")
CITIES = [c.strip() for line in CITIES for c in line.split(" ") if c.strip()]
REGIONS = ["the northern province", "the coastal district", "the eastern region", "the river valley",
           "the southern state", "the western highlands"]
ORG_A = """Apex Northwind Bluestone Crescent Delta Evergreen Frontier Granite Horizon Ironclad Juniper
Keystone Lighthouse Meridian Nova Orion Pinnacle Quantum Redline Summit Titan Unity Vertex Willow""".split()
ORG_B = ["Energy", "Logistics", "Bank", "Motors", "Pharmaceuticals", "Telecom", "Airlines", "Foods",
         "Mining", "Software", "Shipping", "Steel"]
TEAMS = ["Rovers", "Lions", "Comets", "Falcons", "Wanderers", "Rangers", "Titans", "Hawks", "Pilots",
         "Miners", "Royals", "Harriers"]
OUTLETS = ["Daily Ledger", "Morning Courier", "Evening Standard-Times", "Regional Wire",
           "Capital Herald", "Coastal Gazette", "Global Press Service", "The Observer-Journal"]
PLACES = ["warehouse", "apartment block", "shopping centre", "chemical plant", "hotel", "school",
          "train depot", "textile factory", "office tower", "market hall"]
STREETS = ["Maple Street", "Harbour Road", "King's Avenue", "Mill Lane", "Station Road", "Elm Street",
           "Canal Street", "Victoria Road", "Bridge Street", "Church Lane", "Oak Avenue", "Park Road"]
PRODUCTS = ["electric delivery van", "solar roof tile", "budget smartphone", "cancer drug",
            "cargo drone", "heat pump", "payments app", "hydrogen bus", "malaria vaccine", "satellite"]
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
START = date(2021, 1, 1)
DAYS = 4 * 365


@dataclass
class Story:
    """One news story: its sentences, title and the questions it answers."""

    title: str
    city: str
    day: date
    sentences: list[str]
    questions: list[tuple[str, list[str]]] = field(default_factory=list)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _org(rng: random.Random) -> str:
    return f"{rng.choice(ORG_A)} {rng.choice(ORG_B)}"


def _fire(rng: random.Random, city: str, day: date) -> Story:
    place, street = rng.choice(PLACES), rng.choice(STREETS)
    injured, firefighters = rng.randint(2, 60), rng.randint(20, 150)
    chief, hours = _person(rng), rng.choice(NUMBER_WORDS[:6])
    weekday = WEEKDAYS[day.weekday()]
    cause = rng.choice(["an electrical fault", "a gas leak", "a discarded cigarette", "faulty wiring",
                        "an overheated battery"])
    return Story(
        title=f"Fire at {street} {place} in {city} injures {injured}",
        city=city, day=day,
        sentences=[
            f"A fire tore through a {place} on {street} in {city} on {weekday}, injuring {injured} people.",
            f"About {firefighters} firefighters fought the blaze for {hours} hours before bringing it under control.",
            f"Fire chief {chief} said the fire was probably caused by {cause}.",
            f"Residents near {street} were told to keep their windows closed because of the smoke.",
            "An investigation into the fire is under way, officials said.",
        ],
        questions=[
            (f"How many people were injured in the fire at the {place} on {street} in {city}?", [str(injured)]),
            (f"What caused the fire at the {street} {place} in {city}?", [cause]),
            (f"Who is the fire chief who spoke about the {place} fire on {street} in {city}?", [chief]),
        ],
    )


def _ceo(rng: random.Random, city: str, day: date) -> Story:
    org, person, old = _org(rng), _person(rng), _person(rng)
    years, staff = rng.randint(3, 25), rng.randint(2, 90) * 1000
    return Story(
        title=f"{org} names {person} chief executive",
        city=city, day=day,
        sentences=[
            f"{org} has appointed {person} as its chief executive, the {city}-based company said.",
            f"{person} replaces {old}, who led the company for {years} years.",
            f"The company employs about {staff:,} people worldwide.",
            f"Shares in {org} rose slightly after the announcement.",
            f"{person} said the priority would be to cut costs and grow overseas sales.",
        ],
        questions=[
            (f"Who was appointed chief executive of {org}?", [person]),
            (f"Who did the new chief executive of {org} replace?", [old]),
            (f"How many people does {org} employ?", [f"{staff:,}"]),
        ],
    )


def _deal(rng: random.Random, city: str, day: date) -> Story:
    buyer, target = _org(rng), _org(rng)
    while target == buyer:
        target = _org(rng)
    price, jobs = rng.randint(40, 9000), rng.randint(100, 5000)
    adviser = _person(rng)
    return Story(
        title=f"{buyer} agrees to buy {target}",
        city=city, day=day,
        sentences=[
            f"{buyer} agreed to buy rival {target} for ${price} million in cash, the companies said in {city}.",
            f"The deal is expected to close within {rng.choice(NUMBER_WORDS[:8])} months, subject to regulatory approval.",
            f"{target} employs {jobs} people, and unions have asked for guarantees on jobs.",
            f"Analyst {adviser} said the price looked high but the deal made strategic sense.",
        ],
        questions=[
            (f"How much did {buyer} agree to pay for {target}?", [f"${price} million"]),
            (f"Which company agreed to buy {target}?", [buyer]),
            (f"How many people does {target} employ according to the takeover report?", [str(jobs)]),
        ],
    )


def _flood(rng: random.Random, city: str, day: date) -> Story:
    region, dead, evacuated = rng.choice(REGIONS), rng.randint(1, 40), rng.randint(300, 20000)
    rain, minister = rng.randint(80, 400), _person(rng)
    return Story(
        title=f"Floods in {city} leave {dead} dead",
        city=city, day=day,
        sentences=[
            f"Flash floods in {city} and {region} killed {dead} people and forced {evacuated} residents from their homes.",
            f"More than {rain} millimetres of rain fell in two days, the weather service said.",
            f"Emergency minister {minister} visited {city} and promised aid for the families affected.",
            "Roads and bridges were washed away and power was cut in several villages.",
        ],
        questions=[
            (f"How many people died in the floods in {city}?", [str(dead)]),
            (f"How many residents were evacuated in the {city} floods?", [str(evacuated)]),
            (f"Which minister visited {city} after the floods?", [minister]),
        ],
    )


def _match(rng: random.Random, city: str, day: date) -> Story:
    home_team = f"{city} {rng.choice(TEAMS)}"
    away_city = rng.choice([c for c in CITIES if c != city])
    away_team = f"{away_city} {rng.choice(TEAMS)}"
    a, b = rng.randint(2, 6), rng.randint(0, 1)
    scorer, coach, crowd = _person(rng), _person(rng), rng.randint(3, 60) * 1000
    return Story(
        title=f"{home_team} beat {away_team} {a}-{b}",
        city=city, day=day,
        sentences=[
            f"The {home_team} beat the {away_team} {a}-{b} in front of {crowd:,} fans in {city}.",
            f"{scorer} scored twice for the {home_team}.",
            f"{coach}, the {away_team} coach, said his side had been outplayed.",
            "The result lifts the home side to second place in the league table.",
        ],
        questions=[
            (f"Who scored twice for the {home_team} against the {away_team}?", [scorer]),
            (f"How many fans watched the {home_team} play the {away_team}?", [f"{crowd:,}"]),
            (f"Who coaches the {away_team}?", [coach]),
        ],
    )


def _product(rng: random.Random, city: str, day: date) -> Story:
    org, product, price = _org(rng), rng.choice(PRODUCTS), rng.randint(50, 90000)
    head, units = _person(rng), rng.randint(2, 900) * 1000
    month = MONTHS[(day.month + rng.randint(1, 5)) % 12]
    return Story(
        title=f"{org} unveils new {product}",
        city=city, day=day,
        sentences=[
            f"{org} unveiled a new {product} at an event in {city}, priced at ${price:,}.",
            f"The company plans to make {units:,} units in the first year, product head {head} said.",
            f"Sales will begin in {month}.",
            "Critics questioned whether the launch could meet its ambitious targets.",
        ],
        questions=[
            (f"What is the price of the {product} unveiled by {org}?", [f"${price:,}"]),
            (f"When will sales of the {org} {product} begin?", [month]),
            (f"Who is the product head at {org} who spoke about the {product}?", [head]),
        ],
    )


def _court(rng: random.Random, city: str, day: date) -> Story:
    person, judge, years = _person(rng), _person(rng), rng.randint(2, 25)
    crime = rng.choice(["fraud", "bribery", "money laundering", "tax evasion", "embezzlement"])
    amount = rng.randint(2, 400)
    return Story(
        title=f"Former official {person} jailed for {crime}",
        city=city, day=day,
        sentences=[
            f"A court in {city} sentenced former official {person} to {years} years in prison for {crime}.",
            f"Prosecutors said {person} diverted ${amount} million in public funds.",
            f"Judge {judge} said the sentence should deter others.",
            f"Lawyers for {person} said they would appeal.",
        ],
        questions=[
            (f"How many years in prison was {person} sentenced to?", [str(years)]),
            (f"Which judge sentenced {person} in {city}?", [judge]),
            (f"How much money did {person} divert?", [f"${amount} million"]),
        ],
    )


TEMPLATES = (_fire, _ceo, _deal, _flood, _match, _product, _court)


def _dateline(story: Story, outlet: str, day: date) -> str:
    return f"{story.city.upper()}, {MONTHS[day.month - 1]} {day.day}, {day.year} ({outlet}) -"


def _article(story: Story, outlet: str, day: date, title: str, sentences: list[str]) -> str:
    body = " ".join(sentences)
    return f"{title}\n\n{_dateline(story, outlet, day)} {body}\n"


def _wire_copy(rng: random.Random, story: Story) -> tuple[str, list[str]]:
    """Another outlet's copy of the story: a reworded title, one sentence dropped or reworded."""
    sentences = list(story.sentences)
    edit = rng.choice(("drop", "reword", "credit"))
    if edit == "drop" and len(sentences) > 3:
        sentences.pop(rng.randrange(2, len(sentences)))
    elif edit == "reword":
        i = rng.randrange(1, len(sentences))
        sentences[i] = sentences[i].replace(" said", " told reporters").replace("said ", "stated ")
    else:
        sentences.append(f"Reporting by {_person(rng)}; editing by {_person(rng)}.")
    title = rng.choice(("UPDATE 1-", "WRAPUP-", "")) + story.title
    return title, sentences


def _relative(question: str, story_day: date, rng: random.Random) -> tuple[str, str]:
    """The question made time-relative, and the as_of date that makes it resolve to the story."""
    choice = rng.choice(("yesterday", "last week", "weekday", "month", "year"))
    if choice == "yesterday":
        return question.rstrip("?") + " yesterday?", (story_day + timedelta(days=1)).isoformat()
    if choice == "last week":
        as_of = story_day + timedelta(days=7 + rng.randint(0, 6) - story_day.weekday())
        return question.rstrip("?") + " last week?", as_of.isoformat()
    if choice == "weekday":
        as_of = story_day + timedelta(days=rng.randint(1, 5))
        return question.rstrip("?") + f" on {WEEKDAYS[story_day.weekday()]}?", as_of.isoformat()
    if choice == "month":
        as_of = story_day + timedelta(days=rng.randint(31, 200))
        return question.rstrip("?") + f" in {MONTHS[story_day.month - 1]}?", as_of.isoformat()
    return question.rstrip("?") + f" in {story_day.year}?", date(story_day.year + 1, 6, 1).isoformat()


def generate(out: Path, stories: int = 2500, seed: int = 7, questions: int = 400,
             duplicate_share: float = 0.2, relative_share: float = 0.25) -> dict[str, int]:
    """Write `out/docs/*.txt` and `out/testset.jsonl`; returns counts."""
    rng = random.Random(seed)
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    articles = 0
    asked = set(rng.sample(range(stories), min(questions, stories)))
    for i in range(stories):
        city = rng.choice(CITIES)
        day = START + timedelta(days=rng.randrange(DAYS))
        story = rng.choice(TEMPLATES)(rng, city, day)
        outlet = rng.choice(OUTLETS)
        names = [f"n{i:05d}-{outlet.split()[0].lower()}.txt"]
        (docs / names[0]).write_text(_article(story, outlet, day, story.title, story.sentences), "utf-8")
        articles += 1
        if rng.random() < duplicate_share:
            for outlet_copy in rng.sample([o for o in OUTLETS if o != outlet], rng.randint(1, 2)):
                title, sentences = _wire_copy(rng, story)
                copy_day = day + timedelta(days=rng.randint(0, 1))
                name = f"n{i:05d}-{outlet_copy.split()[0].lower()}-copy.txt"
                (docs / name).write_text(_article(story, outlet_copy, copy_day, title, sentences), "utf-8")
                names.append(name)
                articles += 1
        if i in asked:
            question, answers = rng.choice(story.questions)
            row = {"id": f"news-{i:05d}", "question": question, "answers": answers,
                   "answerable": True, "evidence": [{"doc": n} for n in names]}
            if rng.random() < relative_share:
                row["question"], row["as_of"] = _relative(question, day, rng)
            rows.append(row)
    with (out / "testset.jsonl").open("w", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row) + "\n")
    return {"articles": articles, "stories": stories, "questions": len(rows)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--stories", type=int, default=2500)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, args.stories, args.seed, args.questions)))


if __name__ == "__main__":
    main()
