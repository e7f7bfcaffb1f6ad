"""The one parser of incoming email (app.conversations.parse, quotes) and the reply tokens, on their
own: the quoted history of the common mail programs, HTML sanitising, limits, token tampering."""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from app import clock
from app.infra import signing
from app.conversations import parse, quotes, tokens
from app.stages import mail_templates


@pytest.mark.parametrize("text", [
    "Yes, Tuesday.\n\nOn Mon, 30 Nov 2026 at 10:00, Procly <p@x> wrote:\n> Hello\n> when?",
    "Yes, Tuesday.\n\nOn Mon, 30 Nov 2026 at 10:00, Procly\n<p@x> wrote:\n> Hello",          # wrapped (Gmail)
    "Yes, Tuesday.\n\n-----Original Message-----\nFrom: Procly\nSent: Monday\nSubject: Hello\n\nHello",
    "Yes, Tuesday.\n\n________________________________\nFrom: Procly <p@x>\nSent: Monday\nTo: you\n\nHello",
    "Yes, Tuesday.\n\nFrom: Procly <p@x>\nSent: Monday, 30 November 2026\nTo: you\nSubject: Hello\n\nHello",
    "Yes, Tuesday.\n\nLe lun. 30 nov. 2026 à 10:00, Procly <p@x> a écrit :\n> Bonjour",
    "> Hello\n> when?\nYes, Tuesday.\n",
])
def test_quoted_history_is_stripped(text):
    assert quotes.strip_text(text) == "Yes, Tuesday."


def test_a_from_line_in_the_reply_itself_is_kept():
    assert quotes.strip_text("From: my accountant, next week.\nThanks") == "From: my accountant, next week.\nThanks"


def _mail(**parts) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Client <c@example.com>", "reply+x@d.test", "Re: Hello"
    msg["Message-ID"], msg["In-Reply-To"] = "<abc@example.com>", "<orig@d.test>"
    if "text" in parts:
        msg.set_content(parts["text"])
    if "html" in parts:
        if "text" in parts:
            msg.add_alternative(parts["html"], subtype="html")
        else:
            msg.set_content(parts["html"], subtype="html")
    return msg.as_bytes()


def test_an_html_only_reply_gets_a_plain_text_version():
    mail = parse.parse(_mail(html='<div>Fine <b>by me</b><br>see you<script>x()</script></div>'
                                  '<blockquote type="cite">old</blockquote>'))
    assert mail.text == "Fine by me\nsee you"
    assert mail.html == "<div>Fine <b>by me</b><br>see you</div>"
    assert (mail.sender, mail.message_id, mail.in_reply_to) == ("c@example.com", "abc@example.com", "orig@d.test")


def test_sanitising_keeps_formatting_and_drops_everything_active():
    dirty = ('<a href="https://x.test" onclick="e()">ok</a><a href="javascript:e()">no</a>'
             '<iframe src="https://x.test"></iframe><svg onload="e()"></svg><form><input></form>'
             '<img src="data:image/png;base64,AAAA"><style>body{}</style>')
    clean = parse.sanitise_html(dirty)
    assert '<a href="https://x.test" rel="noopener noreferrer nofollow">ok</a>' in clean
    for bad in ("onclick", "javascript", "iframe", "svg", "onload", "<form", "<input", "data:", "<style"):
        assert bad not in clean, bad


def test_limits():
    with pytest.raises(parse.Unreadable):
        parse.parse(_mail(text="x" * 3000), max_bytes=1000)
    long = parse.parse(_mail(text="y" * (parse.MAX_TEXT + 500)))
    assert len(long.text) == parse.MAX_TEXT
    with pytest.raises(parse.Unreadable):
        parse.parse(b"")


def test_tokens_round_trip_and_refuse_tampering(app):
    token = tokens.make(12345, 678)
    local = f"reply+{token}"
    assert len(local) <= 64                                  # fits an email local part
    assert tokens.verify(token.upper()) == tokens.verify(token)   # case-insensitive mail servers
    claim = tokens.verify(token)
    assert (claim.run_id, claim.message_id) == (12345, 678)
    run, msg, exp, sig = token.split("-")
    for bad in (f"{signing.b36(12346)}-{msg}-{exp}-{sig}", f"{run}-{signing.b36(679)}-{exp}-{sig}",
                f"{run}-{msg}-{exp}-{sig[:-1]}{'b' if sig[-1] == 'a' else 'a'}", f"{run}-{msg}-{exp}", ""):
        with pytest.raises(tokens.BadToken):
            tokens.verify(bad)
    frozen = clock.FrozenClock(clock.now() + timedelta(days=31))
    clock.set_clock(frozen)
    try:
        with pytest.raises(tokens.BadToken, match="expired"):
            tokens.verify(token)
    finally:
        clock.set_clock(None)
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-install"
    try:
        with pytest.raises(tokens.BadToken, match="forged"):
            tokens.verify(token)                             # another install's key signs nothing here
    finally:
        app.config["SECRET_KEY"] = old


def test_templates_render_values_safely():
    values = {"name": "A\r\nB\u2028C\x00", "note": "<i>x</i> & y"}
    assert mail_templates.render_subject("Hi {{ name }}", values) == "Hi A B C"
    assert mail_templates.render_text("{{ note }}\n{{ name }}", values) == "<i>x</i> & y\nA\nB C "
    html = mail_templates.render_html("<b>{{ note }}</b>\n{{ name }}", values)
    assert html == "<div>&lt;b&gt;&lt;i&gt;x&lt;/i&gt; &amp; y&lt;/b&gt;<br>\nA<br>B C </div>"
    assert mail_templates.placeholders("{{ a }} and {{b}} {{ a }}") == ["a", "b"]
    for bad in ("{{ a.b }}", "{{ a|upper }}", "{% if a %}x{% endif %}", "{{ a + 1 }}", "{{ x", "{{ ''.__class__ }}"):
        with pytest.raises(mail_templates.TemplateProblem):
            mail_templates.placeholders(bad)
