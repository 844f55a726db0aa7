// The i18n catalogue: every user-visible string of the page, by key, per language.
const catalogue = {
  en: {
    "status.offline": "offline", "status.live": "live", logout: "Sign out",
    "login.title": "Sign in", "login.username": "Username", "login.password": "Password", "login.submit": "Sign in",
    "login.failed": "Wrong username or password.", "login.tooMany": "Too many attempts. Wait a minute and try again.",
    "picture.title": "Live picture", "picture.tracks": "tracks",
    "alerts.title": "Open alerts", "alerts.none": "No open alerts.",
    "alert.open": "open", "alert.acknowledged": "acknowledged", "alert.resolved": "resolved",
    "incidents.title": "Incidents", "incidents.when": "When", "incidents.what": "What", "incidents.where": "Where",
    "incidents.status": "Status", "incidents.marking": "Marking",
    "status.draft": "draft", "status.submitted": "submitted", "status.verified": "verified", "status.approved": "approved", "status.rejected": "rejected",
  },
  fr: {
    "status.offline": "hors ligne", "status.live": "en direct", logout: "Se déconnecter",
    "login.title": "Connexion", "login.username": "Identifiant", "login.password": "Mot de passe", "login.submit": "Se connecter",
    "login.failed": "Identifiant ou mot de passe incorrect.", "login.tooMany": "Trop de tentatives. Attendez une minute et réessayez.",
    "picture.title": "Situation en direct", "picture.tracks": "pistes",
    "alerts.title": "Alertes ouvertes", "alerts.none": "Aucune alerte ouverte.",
    "alert.open": "ouverte", "alert.acknowledged": "prise en compte", "alert.resolved": "résolue",
    "incidents.title": "Incidents", "incidents.when": "Quand", "incidents.what": "Quoi", "incidents.where": "Où",
    "incidents.status": "Statut", "incidents.marking": "Marquage",
    "status.draft": "brouillon", "status.submitted": "soumis", "status.verified": "vérifié", "status.approved": "approuvé", "status.rejected": "rejeté",
  },
};

let lang = localStorage.getItem("bluehelm.lang") || (navigator.language || "en").slice(0, 2);
if (!catalogue[lang]) lang = "en";

export function t(key) {
  return catalogue[lang][key] ?? catalogue.en[key] ?? key;
}

export function setLang(l) {
  if (!catalogue[l]) return;
  lang = l;
  localStorage.setItem("bluehelm.lang", l);
}

export function translatePage() {
  document.documentElement.lang = lang;
  const sel = document.querySelector("#lang");
  if (sel) sel.value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}
