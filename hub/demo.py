"""A demo clinic: teams, staff with printed logins, patients with timelines on several channels.

Seeded through the same paths real traffic takes (ingest, agents' commands), so the demo
exercises the product rather than bypassing it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update

from channels.base import Channel, InboundMessage, Sender
from hub.agents.passwords import hash_password
from hub.agents.roles import Principal, Role
from hub.audit.record import Origin
from hub.conversations.actions import (
    Assign,
    Note,
    Reply,
    SetStatus,
    do_conversation_commands,
)
from hub.db.models import Agent, Conversation, Patient, Team
from hub.db.writer import Tx
from hub.deps import Hub
from hub.events import ConversationStatus

TEAMS = [("scheduling", "Scheduling"), ("billing", "Billing"), ("clinical", "Clinical"), ("intake", "New patients")]

STAFF = [  # login, name, role, languages, teams, password
    ("admin", "Alex Admin", Role.ADMIN, ["en", "es"], [], "puente-admin-demo"),
    (
        "sofia",
        "Sofía Supervisor",
        Role.SUPERVISOR,
        ["en", "es"],
        ["scheduling", "billing", "clinical", "intake"],
        "puente-sofia-demo",
    ),
    ("ana", "Ana Agent", Role.AGENT, ["en", "es"], ["scheduling", "intake"], "puente-ana-demo"),
    ("ben", "Ben Agent", Role.AGENT, ["en"], ["billing"], "puente-ben-demo"),
]

ORIGIN = Origin("127.0.0.1", "puente-demo-seed")


def _msg(
    channel: Channel, pid: str, kind: str, address: str, text: str, name: str | None = None, language: str | None = None
) -> InboundMessage:
    return InboundMessage(
        channel=channel, provider_message_id=pid, sender=Sender(kind, address, name), text=text, language=language
    )


def _staff(tx: Tx, _: list[None]) -> list[dict[str, Principal]]:
    s = tx.session
    teams = {key: Team(key=key, name=name) for key, name in TEAMS}
    s.add_all(teams.values())
    s.flush()
    out: dict[str, Principal] = {}
    for login, name, role, langs, team_keys, password in STAFF:
        agent = Agent(
            login=login,
            display_name=name,
            role=role,
            languages=langs,
            password_hash=hash_password(password),
            teams=[teams[k] for k in team_keys],
        )
        s.add(agent)
        s.flush()
        out[login] = Principal(agent.id, login, name, role, tuple(sorted(teams[k].id for k in team_keys)), tuple(langs))
    return [out]


def _profile(tx: Tx, items: list[tuple[int, dict[str, object]]]) -> list[None]:
    for patient_id, values in items:
        tx.session.execute(update(Patient).where(Patient.id == patient_id).values(**values))
    return [None] * len(items)


def _team(tx: Tx, items: list[tuple[int, str]]) -> list[None]:
    for conversation_id, key in items:
        team_id = (tx.session.execute(select(Team.id).where(Team.key == key))).scalar_one()
        tx.session.execute(update(Conversation).where(Conversation.id == conversation_id).values(team_id=team_id))
    return [None] * len(items)


async def seed_demo(hub: Hub) -> bool:
    """Seed once; returns False when the database already has staff."""
    async with hub.read_sessions() as s:
        if (await s.execute(select(func.count(Agent.id)))).scalar_one():
            return False
    w = hub.writer
    staff = await w.submit(_staff, None)
    ana, ben = staff["ana"], staff["ben"]

    async def inbound(msg: InboundMessage, first_handler: str = "agent"):  # noqa: ANN202
        return await hub.door.receive(hub.door.check(msg, first_handler))

    # María writes by SMS in Spanish, then by email: one patient, one timeline.
    r = await inbound(
        _msg(
            Channel.SMS,
            "SMdemo0001",
            "phone",
            "(650) 555-0134",
            "Hola, necesito cambiar mi cita del jueves",
            "María González",
            "es",
        )
    )
    await w.submit(
        _profile,
        (
            r.patient_id,
            {"date_of_birth": date(1984, 3, 9), "preferred_language": "es", "time_zone": "America/Los_Angeles"},
        ),
    )
    await w.submit(_team, (r.conversation_id, "scheduling"))
    await w.submit(do_conversation_commands, Assign(r.conversation_id, ana, ORIGIN, ana.id))
    await w.submit(
        do_conversation_commands,
        Reply(r.conversation_id, ana, ORIGIN, "¡Hola María! Claro. ¿Qué día le queda mejor?", history=True),
    )
    await inbound(_msg(Channel.SMS, "SMdemo0002", "phone", "+16505550134", "El lunes en la mañana, por favor"))

    # James uses the web chat about a bill.
    r = await inbound(
        _msg(
            Channel.WEBCHAT,
            "wc-demo-0001",
            "webchat",
            "visitor-7f3a9c21",
            "Hi, I was charged twice for my visit on the 3rd",
            "James Carter",
            "en",
        )
    )
    await w.submit(_team, (r.conversation_id, "billing"))
    await w.submit(
        do_conversation_commands,
        Note(r.conversation_id, ben, ORIGIN, "Checked the ledger: duplicate card capture, refund pending."),
    )
    await w.submit(do_conversation_commands, Assign(r.conversation_id, ben, ORIGIN, ben.id))
    await w.submit(
        do_conversation_commands,
        Reply(
            r.conversation_id,
            ben,
            ORIGIN,
            "Sorry about that, James. The second charge is being refunded.",
            history=True,
        ),
    )

    # Linh writes by email, then through a partner integration on the API channel.
    r = await inbound(
        _msg(
            Channel.EMAIL,
            "<demo-1@mail.example.org>",
            "email",
            "Linh.Tran@Example.org",
            "Could you send me the forms for new patients?",
            "Linh Tran",
            "en",
        )
    )
    await w.submit(_team, (r.conversation_id, "intake"))
    await inbound(
        _msg(Channel.API, "portal-demo-88", "email", "linh.tran@example.org", "Also, do you accept Blue Shield PPO?")
    )

    # A resolved episode from last week, and an unassigned new SMS.
    r = await inbound(
        _msg(
            Channel.SMS,
            "SMdemo0003",
            "phone",
            "+1 (415) 555-0199",
            "Is the clinic open on Saturday?",
            "Robert Kim",
            "en",
        )
    )
    await w.submit(
        do_conversation_commands,
        Reply(r.conversation_id, ana, ORIGIN, "Yes, Robert: Saturdays 9 am to 1 pm.", history=True),
    )
    await w.submit(do_conversation_commands, SetStatus(r.conversation_id, ana, ORIGIN, ConversationStatus.RESOLVED))
    await inbound(
        _msg(
            Channel.SMS,
            "SMdemo0004",
            "phone",
            "+14155550123",
            "Hello, I need a refill of my blood pressure medicine",
            None,
            "en",
        )
    )
    # Carlos asks the assistant on the web chat; it answers (when it is on) and he waits for a person.
    if hub.settings.bot.enabled:
        for n, text in enumerate(("Hola, ¿dónde se puede estacionar?", "quiero hacer una cita para mi hija"), 1):
            await inbound(
                _msg(Channel.WEBCHAT, f"wc-demo-10{n}", "webchat", "visitor-c4r105ru12", text, "Carlos Ruiz", "es"),
                "bot",
            )
    return True


def print_logins(base_url: str, ingest_key: str) -> None:
    print(f"\nPuente demo clinic is at {base_url}\n\nDemo logins (login / password / role):")
    for login, name, role, _, _, password in STAFF:
        print(f"  {login:<6} / {password:<18} / {role}  ({name})")
    print(f"\nIntegration key for POST /api/channels/api/messages: {ingest_key}")
    print(f"API schema: {base_url}/schema\n", flush=True)
