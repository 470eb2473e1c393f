// A city's people (app.accounts): who coordinates its exchanges and which partner
// systems' people act for it, and the invitations out. Its coordinators (and
// admins) invite someone by email (the worker sends the single-use link, valid
// seven days), withdraw an invitation not yet accepted, and end a membership: the
// person's sessions in it end and their personal keys with it, at once.

import * as api from "../api.js";
import { h, field, noticeSlot, sayAfterRefresh } from "../dom.js";
import { t, label, formatDateTime, formatDate } from "../i18n.js";
import { onSubmit, writeAndRefresh } from "../problems.js";

const INVITED_ROLES = ["coordinator", "partner"];

function act(state, write, done) {
  return writeAndRefresh(state.ctx, state.noticeSlot, write, done);
}

/** Where an invitation stands: accepted, withdrawn, expired or waiting. */
function invitationState(invitation, now) {
  if (invitation.accepted_at) return ["ok", t("team.accepted", { when: formatDate(invitation.accepted_at) })];
  if (invitation.revoked_at) return ["neutral", t("team.withdrawn")];
  if (new Date(invitation.expires_at) <= now) return ["warn", t("team.expired")];
  return ["neutral", t("team.waiting", { when: formatDateTime(invitation.expires_at) })];
}

function memberRow(state, member) {
  const me = state.ctx.who?.user?.id === member.user_id;
  return h("li", { class: "member" },
    h("div", { class: "spread" },
      h("span", {}, h("strong", {}, member.display_name), me ? h("span", { class: "muted" }, ` · ${t("team.you")}`) : null),
      h("span", { class: `badge ${member.role === "coordinator" ? "ok" : "neutral"}` }, label("role", member.role))),
    h("p", { class: "muted" }, h("a", { href: `mailto:${member.email}` }, member.email), " · ",
      t(member.from_sso ? "team.since_sso" : "team.since", { when: formatDate(member.created_at) })),
    // Ending one's own membership from here would lock one out mid-page.
    me ? null : h("button", { type: "button", class: "small",
      "aria-label": `${t("team.end")}: ${member.display_name}`, onclick: () => {
        if (!window.confirm(t("team.end_confirm", { name: member.display_name, city: state.city.name }))) return;
        act(state, () => api.post(`/api/v1/memberships/${member.id}/revoke`),
          t("team.ended", { name: member.display_name }));
      } }, t("team.end")));
}

function invitationRow(state, invitation, now) {
  const [tone, words] = invitationState(invitation, now);
  const open = !invitation.accepted_at && !invitation.revoked_at && new Date(invitation.expires_at) > now;
  return h("li", { class: "spread invitation" },
    h("span", {}, invitation.email, " ", h("span", { class: "muted" }, `· ${label("role", invitation.role)}`)),
    h("span", { class: "row" },
      h("span", { class: `badge ${tone}` }, words),
      open ? h("button", { type: "button", class: "small",
        "aria-label": `${t("team.withdraw")}: ${invitation.email}`,
        onclick: () => act(state, () => api.post(`/api/v1/invitations/${invitation.id}/revoke`),
          t("team.withdrawn_notice", { email: invitation.email })) }, t("team.withdraw")) : null));
}

function inviteForm(state) {
  const form = h("form", { "aria-labelledby": "invite-new", novalidate: true },
    h("h2", { id: "invite-new" }, t("team.invite")),
    h("p", { class: "muted" }, t("team.invite_intro")),
    field({ label: t("team.email"), name: "email", type: "email", required: true, autocomplete: "off" }),
    field({ label: t("team.role"), name: "role", type: "select", hint: t("team.role_hint"),
      options: INVITED_ROLES.map((role) => [role, label("role", role)]) }),
    h("button", { type: "submit", class: "primary" }, t("team.invite_button")));
  onSubmit(form, async (v) => {
    await api.post("/api/v1/invitations", { email: v.email, role: v.role, city_id: state.city.id });
    sayAfterRefresh(t("team.invited", { email: v.email }));
    await state.ctx.refresh();
  });
  return h("section", { class: "card" }, form);
}

export async function render(ctx) {
  const id = encodeURIComponent(ctx.params.id);
  const [city, members, invitations] = await Promise.all([
    ctx.get(`/api/v1/cities/${id}`),
    ctx.all("/api/v1/memberships", { city_id: id }),
    ctx.get("/api/v1/invitations", { city_id: id, limit: 20 }),
  ]);
  const now = new Date();
  const state = { ctx, city, noticeSlot: noticeSlot() };
  const title = t("team.title", { city: city.name });
  const body = h("article", { class: "team" },
    h("div", { class: "actions" },
      h("a", { class: "button", href: `/console/cities/${city.id}` }, t("city.back", { city: city.name }))),
    h("h1", {}, title),
    h("p", { class: "muted" }, t("team.intro")),
    state.noticeSlot,
    h("section", { class: "card", "aria-labelledby": "members" },
      h("h2", { id: "members" }, t("team.members", { count: members.total })),
      members.items.length ? h("ul", { class: "plain members" }, members.items.map((m) => memberRow(state, m)))
        : h("p", {}, t("team.nobody"))),
    inviteForm(state),
    h("section", { class: "card", "aria-labelledby": "invitations" },
      h("h2", { id: "invitations" }, t("team.invitations")),
      invitations.items.length
        ? h("ul", { class: "plain invitations" }, invitations.items.map((i) => invitationRow(state, i, now)))
        : h("p", { class: "muted" }, t("team.no_invitations"))));
  return { title, body };
}
