// The sign-in form.

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { t } from "./strings.js";

/** A sign-in page; `onSignedIn(me)` runs after a successful sign-in. `notice` explains why we are here. */
export function loginView({ onSignedIn, notice = "" }) {
  const login = h("input", { id: "login", name: "login", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false", "data-testid": "login-input" });
  const password = h("input", { id: "password", name: "password", type: "password", required: true,
    autocomplete: "current-password", "data-testid": "password-input" });
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "login-error", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary wide", "data-testid": "login-submit" },
    t("login.submit"));

  const form = h("form", { class: "login-card", "data-testid": "login-form", "aria-labelledby": "login-heading" },
    h("div", { class: "brand brand-large" }, h("img", { class: "brand-mark", src: "/favicon.svg", alt: "" }), t("app.name")),
    h("h1", { id: "login-heading" }, t("login.heading")),
    h("p", { class: "login-intro" }, t("login.intro")),
    notice ? h("p", { class: "notice", role: "status", "data-testid": "login-notice" }, notice) : null,
    error,
    h("div", { class: "field" }, h("label", { for: "login" }, t("login.login")), login),
    h("div", { class: "field" }, h("label", { for: "password" }, t("login.password")), password),
    submit);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = t("login.submitting");
    try {
      const me = await api.login(login.value.trim(), password.value);
      await onSignedIn(me); // may first load the user's language
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? t("login.wrong")
        : t("login.failed", { detail: err instanceof ApiError ? err.detail : t("error.network") });
      error.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("login.submit");
    }
  });

  const page = h("main", { class: "login-page" }, form);
  queueMicrotask(() => (login.value ? password : login).focus());
  return page;
}
