"""The red-flag list (locales/red-flags.toml) against the development tables tests/data/red_flags/dev.toml,
dev2.toml and dev3.toml, and heldout.toml (held out once, tuned on since): emergencies as patients write them (both
languages, every group) must raise a flag, with the right number first; ordinary clinic messages, near misses
included, must not, but for the commented lists of accepted false alarms below. (heldout2.toml and any later
held-out table are not here: the list is never tuned on them.)"""

from __future__ import annotations

import tomllib

import pytest

from hub.bot.understand import RED_FLAG_CATEGORIES, SEED_RED_FLAGS, as_red_flag_list, red_flags
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "red_flags"
TABLE = DATA / "dev.toml"
GROUPS = {
    "cardiac",
    "breathing",
    "stroke",
    "self_harm",
    "bleeding",
    "overdose",
    "allergy",
    "unconscious",
    "seizure",
    "pregnancy",
    "newborn",
}
SEED = as_red_flag_list(SEED_RED_FLAGS)

_rows = tomllib.loads(TABLE.read_text(encoding="utf-8"))
EMERGENCIES: list[dict[str, str]] = _rows["emergency"]
ORDINARY: list[dict[str, str]] = _rows["ordinary"]

# Ordinary messages that do raise a flag, accepted: each is a word that, in a patient's message, is far more
# often the emergency than not, and that no narrower phrase could keep while letting this message go. A
# person looks at these; a miss of the emergency they stand for could cost a life.
ACCEPTED_FALSE_ALARMS = {
    # "passed out" is how people say they fainted; handing out flyers is rare in a clinic's inbox
    "i passed out flyers at the health fair",
    # "suffocating" said of the weather; said of a child it is an emergency
    "the heat is suffocating today lol",
    # "stroke" alone (a stroke now, or "I think it's a stroke"); a stroke clinic or a past stroke also has it
    "the stroke clinic called me about a follow up for my mom",
    # "derrame" alone is how Spanish speakers name a stroke; a past one also has the word
    "mi mama tuvo un derrame hace 2 años y necesita su cita de seguimiento",
    # Spanish "convulsiones" and "está convulsionando" share their stem, so the matcher cannot keep the
    # second (the only word of "mi hijo está convulsionando") without the first; English could: "having a
    # seizure", not "seizure"
    "necesito receta para la medicina de las convulsiones",
    # "me va a matar" / "se va a matar": the same words, a joke or a threat to oneself
    "esta cuenta me va a matar jaja",
    # "me desmayo" (present, a figure of speech) is "se desmayó" without its accent
    "me desmayo de cansancio jaja",
}


# The other tables: (file, the least emergencies per language, the least ordinary rows, accepted false alarms).
# dev2.toml holds many near misses on purpose; those below are past events, idioms and questions that say
# the very words of an emergency ("had a stroke", "me quiero morir de la vergüenza"), each kept flagged
# because no narrower phrase could let it go without missing the emergency it stands for.
DEV2_ACCEPTED = {
    # a past event, in the words of the emergency: "stroke", "derrame", "infarto", "heart attack", "fainted",
    # "se desmayó", "unconscious", "had a seizure", "convulsiones", "overdosed", "sobredosis", "suicidal"
    "i had a heart attack in 2019 and need my cardiology follow up",
    "mi papa tuvo un infarto en 2019 y necesita cita con el cardiologo",
    "my mom had a stroke last year and needs a wheelchair form",
    "my cousin had a stroke so im worried about my own blood pressure can i get checked",
    "mi mama tuvo un derrame el año pasado y necesita silla de ruedas",
    "mi primo tuvo un derrame y me preocupa mi presion me pueden revisar",
    "i need a work note after my fainting episode last month",
    "my son fainted at school last week the nurse said to follow up",
    "mi mama se desmayo unos segundos el mes pasado despues de una caida y en urgencias dijeron que esta bien",
    "mi hija se desmayo en la iglesia hace dos semanas quiere chequeo",
    "my mom was unconscious for a few seconds last month after a fall and the er said its fine follow up",
    "my son hasnt had a seizure in a year can we lower his dose",
    "mi hijo no ha tenido convulsiones en un año podemos bajar la dosis",
    "my sister overdosed last year and i want to get narcan for the house",
    "mi hermana tuvo una sobredosis el año pasado y quiero narcan para la casa",
    "i used to have suicidal thoughts years ago im doing good now and want to keep seeing my therapist",
    "hace años tenia pensamientos suicidas ya estoy bien y quiero seguir con mi terapeuta",
    "i have a scar from when i cut myself as a teen and want to ask about laser removal",
    "tengo una cicatriz de cuando me cortaba de adolescente y quiero quitarmela con laser",
    "the allergic reaction from last week is better the rash is gone",
    # "stroke", "derrame cerebral", "convulsiones", "contractions", "trabajo de parto" alone: a question about
    # them, a clinic, a pet or a medicine also has the word
    "what are the warning signs of a stroke my mom asked me to find out",
    "cuales son las señales de un derrame cerebral",
    "how can i avoid heat stroke when i work outside",
    "my dads stroke rehab appointment needs to move to friday",
    "el neurologo de las convulsiones de mi esposo se jubilo",
    "mi perro tiene convulsiones que veterinario me recomiendan",
    "my dog is having seizures which vet do you recommend",
    "im 39 weeks and having mild contractions 15 minutes apart when should i come in",
    "tengo 39 semanas y contracciones leves cada 15 minutos cuando me voy al hospital",
    "como se si ya estoy en trabajo de parto",
    # idioms and figures of speech in an emergency's words: "want to die", "me quiero morir", "me va a matar",
    # "choking", "blacked out", "collapsing", "hurt myself", "cut myself"
    "i want to die of embarrassment lol i sent that to the wrong number",
    "me quiero morir de la verguenza jaja le mande el mensaje a otra persona",
    "mi jefe me va a matar si falto otro dia me dan una nota",
    "i was choking up during the movie lol",
    "i blacked out my ssn on the form before sending it",
    "im collapsing boxes for the move and hurt my back",
    "i hurt myself at the gym lifting",
    "i cut myself shaving lol not a big deal",
    # breathing words said of a nose, of stairs, of a snore, or of a pet
    "i cant breathe through my nose because of my allergies",
    "no puedo respirar bien por la nariz por la alergia",
    "im out of breath after climbing stairs since covid can i get an appointment",
    "my husband snores and stops breathing at night can he get a sleep study",
    "mi esposo ronca mucho y deja de respirar en la noche quiere un estudio del sueño",
    "my cat is choking on a hairball again lol",
    # a pet poisoned: the words of a child's poisoning (the clinic tells them to call the vet)
    "the dog ate rat poison what do we do",
    "el perro se comio veneno para ratas que hacemos",
}
HELDOUT_ACCEPTED = {
    # past events, in the emergency's words
    "I fainted last year, is that in my chart",
    "me desmaye el año pasado, eso esta en mi expediente?",
    "my dad had a stroke 2 years ago and needs his home health paperwork signed",
    "mi papa tuvo un derrame hace 3 años, necesito la forma para la terapia",
    "stroke rehab physical therapy, what days",
    "i had a seizure 3 years ago, do i need a form for the dmv",
    "I had chest pain last month, the ER said it was reflux, I need a follow up",
    "el mes pasado tuve dolor en el pecho, en emergencias dijeron que era gastritis, necesito seguimiento",
    # a medicine or its refill, named by what it treats
    "necesito la receta de la medicina de las convulsiones de mi hija",
    "is the overdose reversal spray narcan covered by my insurance",
    # figures of speech and near words: "want to die my hair", "ahogada de trabajo", "water fountain ... broken",
    # "poison ivy", a nose or stairs that take one's breath, blood from a dry nose, a swallowed gum, a dog and
    # a pill ("son" is a little word in Spanish, so "son ate pills" is "ate pills")
    "I want to die my hair before the wedding, is it ok with this medication",
    "estoy ahogada de trabajo, puedo cambiar la cita?",
    "the water fountain in the lobby is broken",
    "poison ivy rash on my arms, can i get a cream",
    "I get a little short of breath climbing stairs, can I see the doctor this month",
    "i cant breathe through my nose from allergies, can i get flonase",
    "no puedo respirar por la nariz de la alergia, me dan flonase?",
    "me sale sangre de la nariz cuando hace mucho calor seco, que hago",
    "mi hijo se trago un chicle, pasa algo?",
    "my dog ate one of my pills lol can i get a replacement",
    "el perro se comio una de mis pastillas jaja me dan otra?",
}
# dev3.toml aims at what is easily missed (minimised and indirect descriptions, the 988 Lifeline's warning signs,
# stroke told indirectly) and holds near misses for the phrases that catch them ("dental bridge", "jump rope",
# "i feel like a burden asking again", "goodbye, we are moving"); none of those raises a flag. What does, below,
# are the words of an emergency said of something else, each kept because no narrower phrase could let it go
# without missing the emergency it stands for.
DEV3_ACCEPTED = {
    # "stroke", "derrame" and "convulsiones" alone: a stroke's follow-up or a seizure plan also has the word
    "my moms stroke follow up is next tuesday, can we get a ride",
    "necesito el plan de convulsiones para la escuela de mi hijo",
    # a newborn's temperature is a fever in "newborn with a temperature"; a question about taking it is not
    "how do i take my babys temperature, shes 3 weeks",
    "como le tomo la temperatura a mi bebe de 3 semanas",
    # a toddler who mixes up her words, double vision when tired, out of breath after running, drowning in
    # paperwork: the words of a stroke's speech and sight, of breathlessness and of choking
    "my daughter is 2 and mixes up her words when she talks, is that normal",
    "veo doble cuando estoy muy cansada, me pueden revisar la vista",
    "im out of breath from running to catch the bus lol, running late",
    "estoy ahogada en papeles me pueden mandar las formas por correo",
}
OTHER_TABLES = [
    ("dev2.toml", 200, 300, DEV2_ACCEPTED),
    ("heldout.toml", 120, 300, HELDOUT_ACCEPTED),
    ("dev3.toml", 200, 300, DEV3_ACCEPTED),
]
OTHER_EMERGENCIES: list[tuple[str, dict[str, str]]] = []
OTHER_ORDINARY: list[tuple[str, dict[str, str]]] = []
for _file, *_ in OTHER_TABLES:
    _table = tomllib.loads((DATA / _file).read_text(encoding="utf-8"))
    OTHER_EMERGENCIES += [(_file, r) for r in _table["emergency"]]
    OTHER_ORDINARY += [(_file, r) for r in _table["ordinary"]]


def _name(row: dict[str, str]) -> str:
    return f"{row['lang']}:{row.get('group', 'ordinary')}:{row['text'][:60]}"


def test_the_table_is_big_enough_and_well_formed() -> None:
    for language in ("en", "es"):
        rows = [r for r in EMERGENCIES if r["lang"] == language]
        assert len(rows) >= 80, language
        assert {r["group"] for r in rows} == GROUPS, language
    assert len(ORDINARY) >= 150
    assert {r["lang"] for r in ORDINARY} == {"en", "es"}
    assert all(set(r) == {"lang", "group", "text"} and r["group"] in GROUPS for r in EMERGENCIES)
    assert all(set(r) == {"lang", "text"} for r in ORDINARY)
    texts = [r["text"] for r in EMERGENCIES + ORDINARY]
    assert len(texts) == len(set(texts)), "a message is in the table twice"
    assert ACCEPTED_FALSE_ALARMS <= {r["text"] for r in ORDINARY}
    assert len(ACCEPTED_FALSE_ALARMS) <= 0.05 * len(ORDINARY)


@pytest.mark.parametrize("row", EMERGENCIES, ids=_name)
def test_every_emergency_raises_a_flag(row: dict[str, str]) -> None:
    hits = red_flags(row["text"], SEED)
    assert hits, f"missed: {row['text']!r} ({row['group']})"
    for hit in hits:
        assert row["text"][hit.start : hit.end] == hit.matched
        assert hit.category in RED_FLAG_CATEGORIES


@pytest.mark.parametrize("row", EMERGENCIES, ids=_name)
def test_the_first_flag_gives_the_right_number(row: dict[str, str]) -> None:
    """The bot's answer follows the first flag: 988 for self_harm, 911 for anything else. Thoughts of suicide
    or self-harm must get 988. Any other emergency, an overdose taken on purpose included, must get 911: a 988
    answer to a poisoned child, a stroke or a swallowed bottle of pills would send the caller to a crisis line
    first when an ambulance or poison control is what saves them (the 988 answer does say 911 if in danger,
    but second). There is no exception today; one would be a row whose words say both, listed here with why."""
    first = red_flags(row["text"], SEED)[0]
    if row["group"] == "self_harm":
        assert first.category == "self_harm", (row["text"], first)
    else:
        assert first.category != "self_harm", (row["text"], first)


@pytest.mark.parametrize("row", ORDINARY, ids=_name)
def test_ordinary_messages_raise_no_flag(row: dict[str, str]) -> None:
    hits = red_flags(row["text"], SEED)
    if row["text"] in ACCEPTED_FALSE_ALARMS:
        assert hits, f"accepted as a false alarm but no longer one: take it off the list: {row['text']!r}"
    else:
        assert hits == [], f"false alarm: {row['text']!r} -> {[(h.category, h.phrase) for h in hits]}"


def _other_name(item: tuple[str, dict[str, str]]) -> str:
    return f"{item[0]}:{_name(item[1])}"


@pytest.mark.parametrize(
    ("file", "least", "least_ordinary", "accepted"), OTHER_TABLES, ids=[t[0] for t in OTHER_TABLES]
)
def test_the_other_tables_are_big_enough_and_well_formed(
    file: str, least: int, least_ordinary: int, accepted: set[str]
) -> None:
    emergencies = [r for f, r in OTHER_EMERGENCIES if f == file]
    ordinary = [r for f, r in OTHER_ORDINARY if f == file]
    for language in ("en", "es"):
        rows = [r for r in emergencies if r["lang"] == language]
        assert len(rows) >= least, language
        assert {r["group"] for r in rows} == GROUPS, language
    assert len(ordinary) >= least_ordinary
    assert all(set(r) == {"lang", "group", "text"} and r["group"] in GROUPS for r in emergencies)
    assert all(set(r) == {"lang", "text"} for r in ordinary)
    texts = [r["text"] for r in emergencies + ordinary]
    assert len(texts) == len(set(texts)), "a message is in the table twice"
    assert accepted <= {r["text"] for r in ordinary}
    assert len(accepted) <= 0.15 * len(ordinary)


@pytest.mark.parametrize("item", OTHER_EMERGENCIES, ids=_other_name)
def test_every_emergency_of_the_other_tables_raises_a_flag_with_the_right_number(
    item: tuple[str, dict[str, str]],
) -> None:
    row = item[1]
    hits = red_flags(row["text"], SEED)
    assert hits, f"missed: {row['text']!r} ({row['group']})"
    for hit in hits:
        assert row["text"][hit.start : hit.end] == hit.matched
    if row["group"] == "self_harm":
        assert hits[0].category == "self_harm", (row["text"], hits[0])
    else:
        assert hits[0].category != "self_harm", (row["text"], hits[0])


@pytest.mark.parametrize("item", OTHER_ORDINARY, ids=_other_name)
def test_ordinary_messages_of_the_other_tables_raise_no_flag(item: tuple[str, dict[str, str]]) -> None:
    file, row = item
    accepted = next(t[3] for t in OTHER_TABLES if t[0] == file)
    hits = red_flags(row["text"], SEED)
    if row["text"] in accepted:
        assert hits, f"accepted as a false alarm but no longer one: take it off the list: {row['text']!r}"
    else:
        assert hits == [], f"false alarm: {row['text']!r} -> {[(h.category, h.phrase) for h in hits]}"
