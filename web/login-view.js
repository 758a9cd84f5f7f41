// The sign-in form, and its second step: a code from the authenticator app (or a recovery code), or
// setting MFA up when the role needs it. A one-time reset code from an administrator sets a new password.

import { ApiError, api } from "./api.js";
import { enrolmentForm, recoveryCodes } from "./admin-view.js";
import { h, replaceChildren } from "./dom.js";
import { t } from "./strings.js";

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

function brand() {
  return h("div", { class: "brand brand-large" }, h("img", { class: "brand-mark", src: "/favicon.svg", alt: "" }), t("app.name"));
}

/** A sign-in page; `onSignedIn(me)` runs after a successful sign-in. `notice` explains why we are here. */
export function loginView({ onSignedIn, notice = "" }) {
  const page = h("main", { class: "login-page" });
  const show = (card) => {
    replaceChildren(page, card);
    queueMicrotask(() => card.querySelector("input")?.focus());
  };
  show(passwordCard({ notice, onSignedIn, show }));
  return page;
}

function passwordCard({ notice, onSignedIn, show }) {
  const login = h("input", { id: "login", name: "login", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false", "data-testid": "login-input" });
  const password = h("input", { id: "password", name: "password", type: "password", required: true,
    autocomplete: "current-password", "data-testid": "password-input" });
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "login-error", hidden: true });
  const setup = h("p", { class: "notice", role: "status", "data-testid": "setup-notice", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary wide", "data-testid": "login-submit" },
    t("login.submit"));
  const reset = h("button", { type: "button", class: "button subtle", "data-testid": "reset-open",
    onclick: () => show(resetCard({ onSignedIn, show, login: login.value.trim() })) }, t("login.haveCode"));

  const form = h("form", { class: "login-card", "data-testid": "login-form", "aria-labelledby": "login-heading" },
    brand(),
    h("h1", { id: "login-heading" }, t("login.heading")),
    h("p", { class: "login-intro" }, t("login.intro")),
    notice ? h("p", { class: "notice", role: "status", "data-testid": "login-notice" }, notice) : null,
    setup,
    error,
    h("div", { class: "field" }, h("label", { for: "login" }, t("login.login")), login),
    h("div", { class: "field" }, h("label", { for: "password" }, t("login.password")), password),
    submit,
    reset);
  api.setup().then((state) => {
    if (state && !state.has_admin) {
      setup.textContent = t("login.noAdmin");
      setup.hidden = false;
    }
  }).catch(() => {});

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = t("login.submitting");
    try {
      const answer = await api.login(login.value.trim(), password.value);
      if (answer.step === "totp") show(codeCard({ ticket: answer.ticket, onSignedIn, show }));
      else if (answer.step === "enrol") show(await enrolCard({ ticket: answer.ticket, onSignedIn, show }));
      else await onSignedIn(answer); // may first load the user's language
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? t("login.wrong")
        : t("login.failed", { detail: detailOf(err) });
      error.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("login.submit");
    }
  });
  return form;
}

function card(testid, heading, ...children) {
  return h("form", { class: "login-card", "data-testid": testid, "aria-labelledby": `${testid}-heading` },
    brand(), h("h1", { id: `${testid}-heading` }, heading), ...children);
}

function codeCard({ ticket, onSignedIn, show }) {
  const code = h("input", { id: "totp", inputmode: "text", autocomplete: "one-time-code", required: true,
    autocapitalize: "none", spellcheck: "false", "data-testid": "totp-input" });
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "totp-error", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary wide", "data-testid": "totp-submit" },
    t("login.verify"));
  const form = card("totp-form", t("login.codeHeading"),
    h("p", { class: "login-intro" }, t("login.codeIntro")), error,
    h("div", { class: "field" }, h("label", { for: "totp" }, t("login.code")), code), submit,
    h("button", { type: "button", class: "button subtle", onclick: () => show(passwordCard({ notice: "", onSignedIn, show })) },
      t("login.startAgain")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      await onSignedIn(await api.loginTotp(ticket, code.value.trim()));
    } catch (err) {
      error.textContent = detailOf(err);
      error.hidden = false;
      code.value = "";
      code.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function enrolCard({ ticket, onSignedIn, show }) {
  const holder = h("div", {});
  const form = h("section", { class: "login-card", "data-testid": "enrol-card", "aria-labelledby": "enrol-heading" },
    brand(), h("h1", { id: "enrol-heading" }, t("mfa.setUpHeading")), h("p", { class: "login-intro" }, t("mfa.required")),
    holder);
  const setup = await api.loginEnrol(ticket);
  replaceChildren(holder, enrolmentForm(setup, api.loginEnrolConfirm, (out) => {
    const next = h("button", { type: "button", class: "button primary wide", "data-testid": "enrol-continue",
      onclick: () => onSignedIn(out.me) }, t("mfa.continue"));
    replaceChildren(holder, recoveryCodes(out.recovery_codes), next);
    next.focus();
  }));
  void show;
  return form;
}

function resetCard({ onSignedIn, show, login: given }) {
  const login = h("input", { id: "reset-login", required: true, value: given, autocomplete: "username",
    autocapitalize: "none", spellcheck: "false", "data-testid": "reset-login" });
  const code = h("input", { id: "reset-code", required: true, autocomplete: "off", autocapitalize: "none",
    spellcheck: "false", "data-testid": "reset-code-input" });
  const password = h("input", { id: "reset-password", type: "password", required: true, autocomplete: "new-password",
    "aria-describedby": "reset-password-hint", "data-testid": "reset-password" });
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "reset-error", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary wide", "data-testid": "reset-submit" },
    t("login.setPassword"));
  const back = () => show(passwordCard({ notice: "", onSignedIn, show }));
  const form = card("reset-form", t("login.resetHeading"), h("p", { class: "login-intro" }, t("login.resetIntro")), error,
    h("div", { class: "field" }, h("label", { for: "reset-login" }, t("login.login")), login),
    h("div", { class: "field" }, h("label", { for: "reset-code" }, t("login.resetCode")), code),
    h("div", { class: "field" }, h("label", { for: "reset-password" }, t("login.newPassword")), password,
      h("span", { class: "field-hint", id: "reset-password-hint" }, t("password.rules"))),
    submit, h("button", { type: "button", class: "button subtle", onclick: back }, t("login.startAgain")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      await api.resetPassword(login.value.trim(), code.value.trim(), password.value);
      show(passwordCard({ notice: t("login.passwordSet"), onSignedIn, show }));
    } catch (err) {
      error.textContent = detailOf(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
