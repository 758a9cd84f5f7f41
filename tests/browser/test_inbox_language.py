"""The inbox speaks the user's language: the browser's (es-MX here) until they choose one in the
top bar, which is saved on their account; the server's refusals follow the same choice."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import event, open_page, row, send_inbound
from tests.support.clients import PASSWORDS, Staff
from tests.support.server import HubServer

pytestmark = pytest.mark.browser

SPANISH_DATE = re.compile(r"\d{1,2} de [a-záéíóúñ]+ de \d{4}")  # "lunes, 23 de noviembre de 2026, 7:30 p.m."


def sign_in(page: Page, login: str, live: str) -> None:
    """The real form; waits until the inbox is live (`live`: the connection status, in the page's language)."""
    page.goto("/")
    page.get_by_test_id("login-input").fill(login)
    page.get_by_test_id("password-input").fill(PASSWORDS[login])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text(live)


def test_a_spanish_browser_gets_a_spanish_inbox_until_the_user_picks_english(
    browser: Browser, hub_server: HubServer, integration: httpx.Client, request: pytest.FixtureRequest
) -> None:
    name = request.node.name
    with open_page(browser, hub_server.base_url, name, locale="es-MX") as page:
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
        expect(page.get_by_label("Usuario")).to_be_visible()
        expect(page.get_by_label("Contraseña")).to_be_visible()
        page.get_by_test_id("login-input").fill("ana")
        page.get_by_test_id("password-input").fill("not-her-password")
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("login-error")).to_have_text("Usuario o contraseña incorrectos.")

        sign_in(page, "ana", live="En vivo")
        assert page.title() == "Bandeja de entrada de Puente"
        expect(page.get_by_test_id("current-user")).to_contain_text("Ana Agent, Agente")
        expect(page.get_by_role("heading", name="Conversaciones")).to_be_visible()
        expect(page.get_by_test_id("filter-mine")).to_have_text("Mías")
        expect(page.get_by_test_id("detail-empty")).to_contain_text("Ninguna conversación seleccionada")
        expect(page.get_by_test_id("language-select")).to_have_value("es")

        first = send_inbound(
            integration, "¿Puedo cambiar mi cita al viernes?", "lang-e2e-1", "+16505550188", name="Lucía Ruiz"
        )
        item = row(page, first["conversation_id"])
        expect(item.get_by_test_id("row-assignee")).to_have_text("Sin asignar")
        when = item.locator("time")
        expect(when).to_have_text("ahora")
        expect(when).to_have_attribute("title", SPANISH_DATE)

        item.click()
        expect(page.get_by_test_id("conversation-status")).to_have_text("Abierta")
        expect(page.get_by_test_id("assign-me")).to_have_text("Asignármela")
        expect(page.get_by_test_id("resolve")).to_have_text("Resolver")
        expect(page.get_by_test_id("back")).to_have_text("Conversaciones")
        question = event(page, "¿Puedo cambiar mi cita al viernes?")
        expect(question).to_have_count(1)
        expect(question.locator("time")).to_have_attribute("title", SPANISH_DATE)
        expect(page.get_by_test_id("composer-mode-reply")).to_have_text("Respuesta")
        expect(page.get_by_test_id("composer-mode-note")).to_have_text("Nota interna")
        expect(page.get_by_test_id("composer-submit")).to_have_text("Enviar respuesta")
        expect(page.get_by_test_id("composer-text")).to_have_attribute(
            "placeholder", "Escriba una respuesta para Lucía Ruiz…"
        )
        page.get_by_test_id("composer-mode-note").click()
        expect(page.get_by_test_id("composer-submit")).to_have_text("Agregar nota")

        # English, from the top bar: the whole inbox is drawn again, the conversation stays open.
        page.get_by_test_id("language-select").select_option("en")
        expect(page.get_by_test_id("connection-status")).to_have_text("Live")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_test_id("current-user")).to_contain_text("Ana Agent, Agent")
        expect(page.get_by_test_id("conversation-status")).to_have_text("Open")
        expect(page.get_by_test_id("composer-submit")).to_have_text("Send reply")
        expect(row(page, first["conversation_id"]).locator("time")).to_have_text("now")
        expect(page.get_by_test_id("language-select")).to_have_value("en")
        assert page.title() == "Puente inbox"

        page.reload()  # saved on the account, not in the page
        expect(page.get_by_test_id("connection-status")).to_have_text("Live")
        expect(page.get_by_test_id("conversation-status")).to_have_text("Open")
        expect(page.get_by_test_id("language-select")).to_have_value("en")

    # Another day, another Spanish browser: signed out it is Spanish; signed in, her choice.
    with open_page(browser, hub_server.base_url, f"{name}-again", locale="es-MX") as page:
        page.goto("/")
        expect(page.get_by_test_id("login-submit")).to_have_text("Iniciar sesión")
        sign_in(page, "ana", live="Live")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
        # back to Spanish
        page.get_by_test_id("language-select").select_option("es")
        expect(page.get_by_test_id("connection-status")).to_have_text("En vivo")
        page.get_by_test_id("sign-out").click()
        expect(page.get_by_test_id("login-notice")).to_have_text("Cerró la sesión.")


def test_refusals_come_back_in_the_users_language(
    browser: Browser, hub_server: HubServer, integration: httpx.Client, request: pytest.FixtureRequest
) -> None:
    from tests.channels.sms.test_sms_webhooks import _fields, _post

    assert (
        _post(
            integration, "/api/channels/sms/inbound", _fields("SMlang0001", "Hola", sender="+16505550199")
        ).status_code
        == 200
    )
    sofia = Staff(hub_server.base_url, "sofia")
    try:
        conversations = sofia.get("/api/conversations").json()["conversations"]
    finally:
        sofia.close()
    conv = next(c for c in conversations if c["patient_name"] == "+16505550199")

    with open_page(browser, hub_server.base_url, request.node.name, locale="es-MX") as page:
        sign_in(page, "ana", live="En vivo")
        row(page, conv["id"]).click()
        expect(page.get_by_test_id("composer-channel")).to_have_value("sms")
        # The patient opts out while the page still offers SMS: the server refuses the reply, in Spanish.
        assert (
            _post(
                integration, "/api/channels/sms/inbound", _fields("SMlang0002", "ALTO", sender="+16505550199")
            ).status_code
            == 200
        )
        expect(
            page.get_by_test_id("timeline-event").filter(has_text="pidió no recibir mensajes de texto")
        ).to_have_count(1)
        page.get_by_test_id("composer-text").fill("Le confirmamos su cita.")
        page.get_by_test_id("composer-submit").click()
        expect(page.get_by_test_id("action-error")).to_contain_text(
            "No se envió la respuesta: No se puede contactar al paciente por sms: pidió no recibir mensajes."
        )

        # English chosen on the same Spanish browser: the server answers in English now.
        assert (
            _post(
                integration, "/api/channels/sms/inbound", _fields("SMlang0003", "START", sender="+16505550199")
            ).status_code
            == 200
        )
        expect(
            page.get_by_test_id("timeline-event").filter(has_text="volvió a aceptar mensajes de texto")
        ).to_have_count(1)
        page.get_by_test_id("language-select").select_option("en")
        expect(page.get_by_test_id("connection-status")).to_have_text("Live")
        expect(page.get_by_test_id("composer-channel")).to_have_value("sms")  # opted in again when it was drawn
        assert (
            _post(
                integration, "/api/channels/sms/inbound", _fields("SMlang0004", "STOP", sender="+16505550199")
            ).status_code
            == 200
        )
        expect(page.get_by_test_id("timeline-event").filter(has_text="opted out of text messages")).to_have_count(2)
        page.get_by_test_id("composer-text").fill("Your appointment is confirmed.")
        page.get_by_test_id("composer-submit").click()
        expect(page.get_by_test_id("action-error")).to_contain_text(
            "Reply not sent: The patient cannot be reached on sms: they opted out."
        )
