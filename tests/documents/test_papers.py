"""The papers read back: invitation letters and consent forms (pypdf), delegation lists
(pypdf and csv), their headers, and the letterhead at their top."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from app.documents.render import LIST_COLUMNS
from tests.conftest import assert_problem
from tests.documents.conftest import one_line, pdf_text

KOSTROMA_OFFICE = {
    "office_name": "Администрация города Костромы",
    "address_lines": ["ul. Sovetskaya 1", "156000 Kostroma, Russia"],
    "phone": "+7 4942 31 44 40", "email": "international@kostroma.example",
    "website": "https://kostroma.example", "signatory_name": "Elena Smirnova",
    "signatory_title": "Head of External Relations",
}


def _docs(world, path: str) -> str:
    return f"/api/v1/events/{world.event.id}/documents/{path}"


def _get(client, world, who: str, path: str, **params):
    return client.get(_docs(world, path), headers=world.keys[who], params=params)


def test_an_invitation_is_in_english_and_russian_on_the_letterhead(client, world):
    r = client.put(f"/api/v1/cities/{world.city('kostroma')}/letterhead",
                   headers=world.keys["kc"], json=KOSTROMA_OFFICE)
    assert r.status_code == 200, r.text
    r = _get(client, world, "kc", f"invitations/{world.person('ayna')}.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="invitation-{world.person("ayna")}-event-{world.event.id}.pdf"; '
        f"filename*=UTF-8''{quote(f'invitation-Aýna-Ňazarowa-event-{world.event.id}.pdf')}")
    text = one_line(pdf_text(r.content))
    for expected in (
        "Letter of invitation", "Письмо-приглашение",
        "Aýna Ňazarowa", "A1234567",  # the Turkmen letters survive
        "20 May 2027 to 22 May 2027", "с 20.05.2027 по 22.05.2027",
        "valid until 1 March 2031", "действителен до 01.03.2031", "citizen of Turkmenistan",
        "Volga youth week", "a youth exchange", "молодёжный обмен",
        "Rowing on the Volga", "Kostroma Youth Centre", "delegation of Mary",
        "Администрация города Костромы", "international@kostroma.example",
        "Elena Smirnova", "Head of External Relations", "Page 1 of 2",
    ):
        assert expected in text, expected
    assert text.count("A1234567") == 2  # once per language


def test_english_only_on_request_and_for_hosts_without_a_translation(
        client, world, make_event, make_registration):
    r = _get(client, world, "mc", f"invitations/{world.person('ayna')}.pdf", lang="en")
    text = pdf_text(r.content)
    assert "Letter of invitation" in text and "Письмо" not in text
    # Ferrara's language is not one we translate into: English only, its name on top.
    visit = make_event(world.cities["ferrara"], [world.cities["mary"]], title="Palio week",
                       starts_at="2027-07-01T10:00", ends_at="2027-07-03T18:00")
    make_registration(visit, world.people["ayna"], "delegate")
    r = client.get(f"/api/v1/events/{visit.id}/documents/invitations/"
                   f"{world.person('ayna')}.pdf", headers=world.keys["mc"])
    text = one_line(pdf_text(r.content))
    assert "Letter of invitation" in text and "Письмо" not in text
    assert text.startswith("Ferrara Italy Date: ")
    assert_problem(_get(client, world, "mc", f"invitations/{world.person('ayna')}.pdf",
                        lang="tk"), 422)


def test_a_consent_form_names_the_minor_and_guardian_in_english_and_russian(client, world):
    r = _get(client, world, "mc", f"consent-forms/{world.person('satlyk')}.pdf")
    assert r.status_code == 200, r.text
    text = one_line(pdf_text(r.content))
    for expected in ("Guardian's consent for a minor to travel",
                     "Согласие законного представителя на поездку несовершеннолетнего",
                     "Şatlyk Ämmäýew", "Gülşat Ämmäýewa", "gulsat@example.org",
                     "20 May 2027 to 22 May 2027", "с 20.05.2027 по 22.05.2027",
                     "Kostroma, Russia", "Volga youth week", "Guardian's signature",
                     "Подпись законного представителя"):
        assert expected in text, expected
    assert "Page 2 of 2" in text
    russian = pdf_text(_get(client, world, "mc", f"consent-forms/{world.person('satlyk')}.pdf",
                            lang="ru").content)
    assert "Согласие" in russian and "Guardian's consent" not in russian
    assert_problem(_get(client, world, "mc", f"consent-forms/{world.person('ayna')}.pdf"),
                   409, contains="not a minor")


def test_the_delegation_list_pdf_lists_every_guest_or_one_delegation(client, world):
    r = _get(client, world, "kc", "delegation-list.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    assert f'filename="delegation-list-event-{world.event.id}-guests.pdf"' in (
        r.headers["content-disposition"])
    text = one_line(pdf_text(r.content))
    for expected in ("Delegation list", "Список делегации", "All guest delegations",
                     "Aýna Ňazarowa", "Şatlyk Ämmäýew", "Marco Rossi", "A1234567",
                     "2031-03-01", "B7654321", "Gülşat Ämmäýewa", "сопровождающий",
                     "2027-05-20 – 2027-05-22", "3 people"):
        assert expected in text, expected
    assert "Ivan Petrov" not in text  # the host's own people cross no border
    mary = one_line(pdf_text(_get(client, world, "kc", "delegation-list.pdf",
                                  city_id=world.city("mary")).content))
    assert "Delegation list — Mary" in mary and "Marco Rossi" not in mary and "2 people" in mary
    # A guest city gets its own delegation, whatever it asks for.
    own = one_line(pdf_text(_get(client, world, "fc", "delegation-list.pdf").content))
    assert "Marco Rossi" in own and "Aýna" not in own
    assert_problem(_get(client, world, "fc", "delegation-list.pdf", city_id=world.city("mary")),
                   403)
    assert_problem(_get(client, world, "kc", "delegation-list.pdf",
                        city_id=world.city("gabrovo")), 422, contains="does not take part")


def test_the_delegation_list_csv_has_its_documented_columns_with_a_bom(client, world):
    r = _get(client, world, "kc", "delegation-list.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith(
        f'attachment; filename="delegation-list-event-{world.event.id}-guests.csv"')
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == LIST_COLUMNS
    by_name = {row["full_name"]: row for row in rows}
    assert set(by_name) == {"Aýna Ňazarowa", "Şatlyk Ämmäýew", "Marco Rossi"}
    child = by_name["Şatlyk Ämmäýew"]
    assert (child["passport_number"], child["passport_expiry"], child["nationality"],
            child["role"], child["status"], child["home_city"], child["minor"],
            child["guardian_name"], child["guardian_email"]) == (
        "B7654321", "2029-08-15", "TM", "student", "pending_consent", "Mary", "yes",
        "Gülşat Ämmäýewa", "gulsat@example.org")
    adult = by_name["Aýna Ňazarowa"]
    assert adult["minor"] == "no" and adult["guardian_name"] == ""
    assert adult["birth_date"] == str(world.people["ayna"].birth_date)


def test_a_city_without_a_letterhead_prints_its_name_and_country(client, world):
    r = client.get(f"/api/v1/cities/{world.city('kostroma')}/letterhead")
    assert r.status_code == 200, r.text
    assert r.json() | {"updated_at": None} == {
        "city_id": world.city("kostroma"), "office_name": "Kostroma",
        "address_lines": ["Russia"], "phone": None, "email": None, "website": None,
        "signatory_name": None, "signatory_title": None, "is_set": False, "updated_at": None}
    text = pdf_text(_get(client, world, "kc", f"invitations/{world.person('ayna')}.pdf").content)
    assert text.startswith("Kostroma\nRussia")


def test_an_invitation_lists_the_group_programme_by_day(client, world):
    """Items for everyone are the visit's purpose in words a consulate reads; an item
    of one role or of named people is not the group's and stays off the letter."""
    def item(**body):
        r = client.post(f"/api/v1/events/{world.event.id}/programme", headers=world.keys["kc"],
                        json=body)
        assert r.status_code == 201, r.text

    item(title="Welcome at the city hall", starts_at="2027-05-20T10:00",
         ends_at="2027-05-20T11:30", place="City hall")
    item(title="Chaperones' briefing", starts_at="2027-05-20T12:00",
         ends_at="2027-05-20T12:30", audience="role", role="chaperone")
    item(title="Ipatiev Monastery", starts_at="2027-05-21T09:30", ends_at="2027-05-21T12:00")
    text = one_line(pdf_text(_get(client, world, "kc",
                                  f"invitations/{world.person('ayna')}.pdf").content))
    assert ("20 May 2027: 10:00 Welcome at the city hall (City hall) "
            "21 May 2027: 09:30 Ipatiev Monastery") in text
    assert "21.05.2027: 09:30 Ipatiev Monastery" in text  # the Russian page
    assert "briefing" not in text
