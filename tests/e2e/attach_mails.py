"""The mails of the attachment tests (test_http_attach.py, test_web_attach.py):
one with an image, a PDF, an .ics invitation and a forwarded message that
itself carries an attachment and a forwarded message, built with Python's
email package; and the bytes of each part, to compare downloads with."""
import struct
import zlib
from email.message import EmailMessage
from email.policy import SMTP

INVITE_SUMMARY = "Sprint review, Q4"
INVITE_ICS = (
    "BEGIN:VCALENDAR\r\nPRODID:-//devmail test//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:sprint-42@example.com\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\n"
    "SUMMARY:Sprint review\\, Q4\r\nLOCATION:Room 4\\, 2nd floor\r\n"
    "DTSTART;TZID=Europe/Berlin:20261210T140000\r\nDTEND;TZID=Europe/Berlin:20261210T153000\r\n"
    "ORGANIZER;CN=Ann Organiser:mailto:ann@example.com\r\n"
    "ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n")
# 14:00 in Berlin in December (CET, UTC+1)
INVITE_START_UTC = "2026-12-10T13:00:00Z"
INVITE_END_UTC = "2026-12-10T14:30:00Z"


def png(width=60, height=40):
    """A small RGB gradient PNG, written with zlib (no imaging library)."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 4 % 256, y * 6 % 256, 160))
                    for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def pdf(text="Invoice 2026-117"):
    """A one-page PDF saying text, with a correct cross-reference table."""
    stream = ("BT /F1 24 Tf 72 720 Td (%s) Tj ET" % text).encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


IMAGE = png()
LOGO = png(24, 24)   # inline (cid:) image of the outer mail's HTML
PDF = pdf()
NOTES = b"inner attachment: notes of the forwarded mail\n"
INNER_SUBJECT = "Original: the quarterly numbers"
INNERMOST_SUBJECT = "Deep: the first mail of the thread"
OUTER_SUBJECT = "Fwd: numbers, invoice and the review"


def innermost():
    m = EmailMessage(policy=SMTP)
    m["From"] = "Carl First <carl@example.org>"
    m["To"] = "dora@example.org"
    m["Subject"] = INNERMOST_SUBJECT
    m["Date"] = "Mon, 02 Mar 2026 08:00:00 +0000"
    m.set_content("The very first message of the thread.\n")
    return m


def inner():
    m = EmailMessage(policy=SMTP)
    m["From"] = "Dora Sender <dora@example.org>"
    m["To"] = "Erin <erin@example.org>"
    m["Subject"] = INNER_SUBJECT
    m["Date"] = "Tue, 03 Mar 2026 09:30:00 +0000"
    m["Message-ID"] = "<inner-1@example.org>"
    m.set_content("Numbers are up (text part).\n")
    m.add_alternative('<html><body><h1 id="inner-heading">Numbers are up</h1>'
                      '<p id="inner-body">Forwarded HTML body.</p></body></html>\n', subtype="html")
    m.add_attachment(NOTES, maintype="text", subtype="plain", filename="notes.txt")
    m.add_attachment(innermost(), filename="first.eml")
    return m


def outer_mail():
    m = EmailMessage(policy=SMTP)
    m["From"] = "Ada Forwarder <ada@example.com>"
    m["To"] = "Grace <grace@example.com>"
    m["Subject"] = OUTER_SUBJECT
    m["Date"] = "Wed, 04 Mar 2026 10:00:00 +0000"
    m["Message-ID"] = "<outer-1@example.com>"
    m.set_content("See the attachments.\n")
    m.add_alternative('<html><body><p id="outer-body">See the attachments.</p>'
                      '<img src="cid:logo@attach-test" alt="logo"></body></html>\n', subtype="html")
    m.get_payload()[1].add_related(LOGO, maintype="image", subtype="png", cid="<logo@attach-test>",
                                   filename="logo.png", disposition="inline")
    m.add_attachment(IMAGE, maintype="image", subtype="png", filename="chart.png")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    m.add_attachment(INVITE_ICS.encode(), maintype="text", subtype="calendar", filename="invite.ics",
                     params={"method": "REQUEST"})
    m.add_attachment(inner(), filename="forwarded.eml")
    return m.as_bytes()
