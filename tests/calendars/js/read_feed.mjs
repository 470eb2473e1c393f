// Read an iCalendar feed from stdin with Mozilla's ical.js (Thunderbird's parser)
// and print what a client would see, as JSON, for tests/calendars/parsers.py.
//
//   node read_feed.mjs [--occurrences N] < feed.ics
//
// Every VTIMEZONE in the feed is registered with ICAL.TimezoneService first, so
// times with a TZID are placed by the feed's own zone definitions, as a client
// without a built-in tz database would place them.
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const occurrences = args[0] === "--occurrences" ? Number(args[1]) : 0;
const text = readFileSync(0, "utf8");

const calendar = new ICAL.Component(ICAL.parse(text));
const timezones = calendar.getAllSubcomponents("vtimezone").map((vtz) => {
  const zone = new ICAL.Timezone(vtz);
  ICAL.TimezoneService.register(zone, zone.tzid);
  return zone.tzid;
});

function time(t) {
  if (!t) return null;
  return {
    local: t.toString(),
    isDate: t.isDate,
    tzid: t.isDate ? null : t.zone ? t.zone.tzid : null,
    utc: t.isDate ? null : t.convertToZone(ICAL.Timezone.utcTimezone).toString(),
  };
}

function properties(component) {
  const out = {};
  for (const prop of component.getAllProperties()) {
    out[prop.name] = {
      value: String(prop.getFirstValue()),
      values: prop.getValues().map(String),
      type: prop.type,
      params: prop.toJSON()[1],
    };
  }
  return out;
}

const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  const out = {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    location: event.location,
    status: vevent.getFirstPropertyValue("status"),
    sequence: event.sequence,
    categories: vevent.getAllProperties("categories").flatMap((p) => p.getValues()),
    start: time(event.startDate),
    end: time(event.endDate),
    recurring: event.isRecurring(),
    properties: properties(vevent),
    alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
      action: alarm.getFirstPropertyValue("action"),
      trigger: String(alarm.getFirstPropertyValue("trigger")),
      description: alarm.getFirstPropertyValue("description"),
    })),
    occurrences: [],
  };
  if (occurrences > 0 && event.isRecurring()) {
    const it = event.iterator();
    for (let next = it.next(); next && out.occurrences.length < occurrences; next = it.next()) {
      out.occurrences.push(next.toString());
    }
  }
  return out;
});

process.stdout.write(
  JSON.stringify({ calendar: properties(calendar), timezones, events }, null, 1),
);
