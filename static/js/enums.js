// The API's enumerations that the console offers as choices, in the order it shows
// them (their words are in i18n: label("reg_role", role)...).

/** A participant's role at an event. */
export const ROLES = ["delegate", "student", "chaperone", "athlete", "coach", "artist", "official",
  "interpreter", "coordinator"];

/** Registration statuses that hold a place (app.participants.models.HOLDING). */
export const HOLDING = ["confirmed", "pending_consent", "awaiting_chaperone", "attended", "no_show"];

/** Diets a host family caters for, and a guest needs (app.hosting.models.Diet). */
export const DIETS = ["vegetarian", "vegan", "halal", "kosher", "gluten_free", "lactose_free",
  "nut_free"];

/** A guest's allergies (app.hosting.models.Allergy). */
export const ALLERGIES = ["pets", "smoke", "nuts", "gluten", "lactose"];
