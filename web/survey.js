// The satisfaction survey a patient opens from an email (web/survey.html): one question, 1 to 5,
// an optional comment. The link's token (?t=) names the conversation, signed by the hub; the page
// shows nothing about the patient and needs no sign-in. Its few words are here in English and
// Spanish, in the language the question was asked in (GET /api/csat/survey/<token>).

const WORDS = {
  en: {
    title: "How did we do?",
    lead: "Thank you for writing to {clinic}. One question, and a comment if you like.",
    legend: "How satisfied are you with the help you got?",
    score: { 1: "1, very poor", 2: "2, poor", 3: "3, fair", 4: "4, good", 5: "5, excellent" },
    comment: "Anything you want to tell us? (optional)",
    send: "Send",
    choose: "Choose a number from 1 to 5 first.",
    thanks: "Thank you! Your answer reached {clinic}.",
    answered: "Thank you: this survey was already answered.",
    expired: "This survey has closed.",
    missing: "This link does not work. Please check you copied all of it.",
    failed: "Your answer could not be sent. Please try again.",
    note: "If this is an emergency, call 911.",
  },
  es: {
    title: "¿Cómo le atendimos?",
    lead: "Gracias por escribir a {clinic}. Una pregunta y, si quiere, un comentario.",
    legend: "¿Qué tan satisfecho está con la ayuda que recibió?",
    score: { 1: "1, muy mal", 2: "2, mal", 3: "3, regular", 4: "4, bien", 5: "5, excelente" },
    comment: "¿Algo que quiera decirnos? (opcional)",
    send: "Enviar",
    choose: "Primero elija un número del 1 al 5.",
    thanks: "¡Gracias! Su respuesta llegó a {clinic}.",
    answered: "Gracias: esta encuesta ya se respondió.",
    expired: "Esta encuesta ya se cerró.",
    missing: "Este enlace no funciona. Revise que lo copió completo.",
    failed: "No se pudo enviar su respuesta. Inténtelo de nuevo.",
    note: "Si es una emergencia, llame al 911.",
  },
};

const main = document.getElementById("survey");
const token = new URLSearchParams(location.search).get("t") || "";
let words = WORDS[(navigator.language || "en").slice(0, 2)] || WORDS.en;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");
}

function say(message, testid) {
  main.replaceChildren(el("h1", { text: words.title }), el("p", { role: "status", "data-testid": testid, text: message }));
  main.focus();
}

async function start() {
  let survey;
  try {
    const r = await fetch(`/api/csat/survey/${encodeURIComponent(token)}`, { headers: { accept: "application/json" } });
    if (!r.ok) return say(words.missing, "survey-missing");
    survey = await r.json();
  } catch {
    return say(words.failed, "survey-error");
  }
  words = WORDS[survey.language] || WORDS.en;
  document.documentElement.lang = WORDS[survey.language] ? survey.language : "en";
  document.title = words.title;
  if (survey.state === "answered") return say(words.answered, "survey-answered");
  if (survey.state !== "open") return say(words.expired, "survey-expired");
  draw(survey.clinic);
}

function draw(clinic) {
  const stars = el("div", { class: "stars" });
  for (let n = 1; n <= 5; n += 1) {
    const input = el("input", { type: "radio", name: "score", value: n, id: `score-${n}`, "data-testid": `survey-score-${n}` });
    stars.append(el("label", { for: `score-${n}` }, input,
      el("span", { class: "star", "aria-hidden": "true", text: "★".repeat(n) }), el("span", { text: words.score[n] })));
  }
  const comment = el("textarea", { id: "comment", maxlength: "1000", "data-testid": "survey-comment" });
  const error = el("p", { class: "error", role: "alert", "data-testid": "survey-error" });
  const form = el("form", { novalidate: true },
    el("fieldset", {}, el("legend", { text: words.legend }), stars),
    el("label", { class: "comment", for: "comment" }, words.comment, comment),
    error,
    el("button", { type: "submit", "data-testid": "survey-send", text: words.send }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const picked = form.querySelector("input[name=score]:checked");
    if (!picked) {
      error.textContent = words.choose;
      form.querySelector("input[name=score]").focus();
      return;
    }
    error.textContent = "";
    try {
      const r = await fetch(`/api/csat/survey/${encodeURIComponent(token)}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ score: Number(picked.value), comment: comment.value.trim() || null }),
      });
      if (r.status === 409) return say(words.answered, "survey-answered");
      if (r.status === 410) return say(words.expired, "survey-expired");
      if (!r.ok) throw new Error(String(r.status));
      say(fill(words.thanks, { clinic }), "survey-thanks");
    } catch {
      error.textContent = words.failed;
    }
  });
  main.replaceChildren(el("h1", { text: words.title }), el("p", { text: fill(words.lead, { clinic }) }), form,
    el("p", { class: "note", text: words.note }));
}

start();
