"""Synthea-shaped US Core patients and their appointments, deterministic from a seed.

The resources look like what Synthea writes (and what EHRs serve): a Synthea id identifier, an MRN
(type MR) with the hospital's system, an SSN and a driver's licence (never kept by the hub), official
and maiden names with prefixes, Spanish names with accents, us-core race and ethnicity extensions,
birth place, an address with a geolocation (and sometimes a time zone), telecom phones and emails,
some of them unusable, and a preferred language (en or es, sometimes another, sometimes none)."""

from __future__ import annotations

import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.patients.contacts import InvalidContact, normalise_phone

MRN_SYSTEM = "http://hospital.smarthealthit.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"

GIVEN_ES = [
    "María",
    "José",
    "Lucía",
    "Ángel",
    "Sofía",
    "Jesús",
    "Inés",
    "Raúl",
    "Marisol",
    "Joaquín",
    "Begoña",
    "Íñigo",
]
FAMILY_ES = ["Núñez", "González", "Pérez", "Muñoz", "Ibáñez", "Rodríguez", "Fernández", "Martín", "Ramírez", "Peña"]
GIVEN_EN = ["James", "Emma", "Olivia", "Liam", "Noah", "Ava", "Mia", "Ethan", "Harper", "Lucas", "Grace", "Henry"]
FAMILY_EN = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "O'Brien"]
AREAS = ["650", "415", "408", "510", "213", "312", "617", "206", "303", "512"]
ZONES = ["America/Los_Angeles", "America/Chicago", "America/New_York", "America/Denver"]
BAD_PHONES = ["555-1234", "000-000-0000", "call after 5", "12"]
BAD_EMAILS = ["maria@", "n/a", "no tiene correo"]
PRACTITIONERS = ["Dr. Ana Ruiz", "Dr. Peter Lee", "Dr. Carmen Ortega", "Dr. Sam Patel"]
LOCATIONS = ["Main Street Clinic", "Clínica del Valle", "Eastside Family Health"]
SERVICES = [("394814009", "General practice"), ("408443003", "General medical practice"), ("394582007", "Dermatology")]
EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def _instant(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"


@dataclass
class Person:
    """What a test needs to know of a generated patient."""

    id: str
    mrn: str
    name: str
    birth_date: date
    phone: str | None  # E.164 when valid
    email: str | None
    language: str | None
    resource: dict[str, Any] = field(repr=False)


def patient(rng: random.Random, n: int, updated: datetime, phones: set[str]) -> Person:
    spanish = rng.random() < 0.45
    given = rng.sample(GIVEN_ES if spanish else GIVEN_EN, k=rng.choice((1, 1, 2)))
    family = rng.choice(FAMILY_ES if spanish else FAMILY_EN)
    if spanish and rng.random() < 0.5:
        family = f"{family} {rng.choice(FAMILY_ES)}"
    pid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    mrn = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000))
    while True:
        local = f"{rng.choice(AREAS)}{rng.randrange(200, 999)}{rng.randrange(0, 10000):04d}"
        try:
            e164 = normalise_phone(local)  # an exchange the numbering plan never gives out is no phone
        except InvalidContact:
            continue
        if e164 not in phones:
            phones.add(e164)
            break
    phone_text = rng.choice([f"{local[:3]}-{local[3:6]}-{local[6:]}", f"({local[:3]}) {local[3:6]}-{local[6:]}"])
    email = f"{_ascii(given[0])}.{_ascii(family.split()[0]).replace(chr(39), '')}{n}@example.org"
    telecom: list[dict[str, Any]] = []
    valid_phone: str | None = f"+1{local}"
    if rng.random() < 0.06:
        telecom.append({"system": "phone", "value": rng.choice(BAD_PHONES), "use": "home"})
        valid_phone = None
    else:
        telecom.append({"system": "phone", "value": phone_text, "use": rng.choice(["home", "mobile"])})
    valid_email: str | None = None
    if rng.random() < 0.5:
        if rng.random() < 0.08:
            telecom.append({"system": "email", "value": rng.choice(BAD_EMAILS)})
        else:
            telecom.append({"system": "email", "value": email.replace("maria", "Maria", 1), "use": "home"})
            valid_email = email
    if rng.random() < 0.1:
        telecom.append({"system": "fax", "value": "650-555-0000"})
    roll = rng.random()
    language = None
    communication: list[dict[str, Any]] = []
    if roll < 0.85:
        language = "es" if spanish and rng.random() < 0.9 else "en"
        code = rng.choice([language, f"{language}-US" if language == "en" else "es-MX"])
        display = {"en": "English", "es": "Spanish"}[language]
        communication.append(
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": code, "display": display}],
                    "text": display,
                },
                **({"preferred": True} if rng.random() < 0.7 else {}),
            }
        )
    address: dict[str, Any] = {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                "extension": [
                    {"url": "latitude", "valueDecimal": round(rng.uniform(32, 42), 6)},
                    {"url": "longitude", "valueDecimal": round(rng.uniform(-122, -71), 6)},
                ],
            }
        ],
        "line": [f"{rng.randrange(10, 9999)} {rng.choice(['Main', 'Oak', 'Mission', 'Alameda'])} St"],
        "city": rng.choice(["San José", "Oakland", "Chicago", "Boston"]),
        "state": rng.choice(["CA", "IL", "MA"]),
        "postalCode": f"{rng.randrange(10000, 99999)}",
        "country": "US",
    }
    if rng.random() < 0.3:
        address["extension"].append(
            {"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": rng.choice(ZONES)}
        )
    names: list[dict[str, Any]] = [
        {
            "use": "official",
            "family": family,
            "given": given,
            "prefix": [rng.choice(["Mr.", "Mrs.", "Ms.", "Sr.", "Sra."])],
        }
    ]
    if rng.random() < 0.2:
        names.append({"use": "maiden", "family": rng.choice(FAMILY_ES + FAMILY_EN), "given": given})
    if rng.random() < 0.2:
        names.append({"use": "usual", "given": [given[0][:4]], "family": family})
    resource = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {
            "versionId": "1",
            "lastUpdated": _instant(updated),
            "profile": [f"{US_CORE}/us-core-patient"],
        },
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Generated by Synthea</div>'},
        "extension": [
            {
                "url": f"{US_CORE}/us-core-race",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3"},
                    },
                    {"url": "text", "valueString": "White"},
                ],
            },
            {
                "url": f"{US_CORE}/us-core-ethnicity",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {
                            "system": "urn:oid:2.16.840.1.113883.6.238",
                            "code": "2135-2" if spanish else "2186-5",
                            "display": "Hispanic or Latino" if spanish else "Not Hispanic or Latino",
                        },
                    },
                ],
            },
            {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Ortiz"},
            {"url": f"{US_CORE}/us-core-birthsex", "valueCode": rng.choice("FM")},
        ],
        "identifier": [
            {"system": "https://github.com/synthetichealth/synthea", "value": pid},
            {
                "type": {
                    "coding": [{"system": V2_0203, "code": "MR", "display": "Medical Record Number"}],
                    "text": "MRN",
                },
                "system": MRN_SYSTEM,
                "value": mrn,
            },
            {
                "type": {"coding": [{"system": V2_0203, "code": "SS", "display": "Social Security Number"}]},
                "system": "http://hl7.org/fhir/sid/us-ssn",
                "value": f"999-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
            },
            {
                "type": {"coding": [{"system": V2_0203, "code": "DL", "display": "Driver's license number"}]},
                "system": "urn:oid:2.16.840.1.113883.4.3.25",
                "value": f"S{rng.randrange(10**7, 10**8)}",
            },
        ],
        "name": names,
        "telecom": telecom,
        "gender": rng.choice(["female", "male"]),
        "birthDate": born.isoformat(),
        "address": [address],
        "maritalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]
        },
        "multipleBirthBoolean": False,
        "communication": communication,
    }
    return Person(pid, mrn, " ".join([*given, family]), born, valid_phone, valid_email, language, resource)


def appointment(rng: random.Random, person: Person, n: int, updated: datetime) -> dict[str, Any]:
    start = EPOCH + timedelta(
        days=rng.randrange(1, 120), hours=rng.randrange(0, 9), minutes=rng.choice((0, 15, 30, 45))
    )
    code, display = rng.choice(SERVICES)
    return {
        "resourceType": "Appointment",
        "id": f"appt-{person.id[:8]}-{n}",
        "meta": {"versionId": "1", "lastUpdated": _instant(updated)},
        "status": rng.choice(["booked", "booked", "booked", "proposed", "cancelled", "fulfilled"]),
        "serviceType": [
            {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}], "text": display}
        ],
        "description": "Follow-up visit",
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=30)),
        "participant": [
            {"actor": {"reference": f"Patient/{person.id}", "display": person.name}, "status": "accepted"},
            {
                "actor": {"reference": f"Practitioner/pr-{rng.randrange(1, 5)}", "display": rng.choice(PRACTITIONERS)},
                "status": "accepted",
            },
            {
                "actor": {"reference": f"Location/loc-{rng.randrange(1, 4)}", "display": rng.choice(LOCATIONS)},
                "status": "accepted",
            },
        ],
    }


@dataclass
class Population:
    people: list[Person]
    patients: list[dict[str, Any]]
    appointments: list[dict[str, Any]]


def population(
    count: int, seed: int = 17, start: datetime = EPOCH, appointments_per_patient: float = 0.8
) -> Population:
    """`count` patients (lastUpdated one second apart from `start`) and about
    appointments_per_patient appointments each; the same seed gives the same population."""
    rng = random.Random(seed)
    phones: set[str] = set()
    people = [patient(rng, n, start + timedelta(seconds=n), phones) for n in range(count)]
    appts: list[dict[str, Any]] = []
    for n, person in enumerate(people):
        for k in range(int(appointments_per_patient) + (rng.random() < appointments_per_patient % 1)):
            appts.append(appointment(rng, person, k, start + timedelta(seconds=count + n)))
    return Population(people, [p.resource for p in people], appts)
