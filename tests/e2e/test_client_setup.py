"""Zero-typing mail-client setup, as clients see it.

- Thunderbird's autoconfig (GET /mail/config-v1.1.xml and the .well-known
  URL, on the web port and on autoconfig_listen): no login even with HTTP
  auth on, text/xml, accepted under autoconfig.<domain> with a Mozilla
  User-Agent; parsed with xml.etree the way Thunderbird's readFromXML
  reads it and checked field by field against the configured listeners;
  then every advertised server is used exactly as described (socket type,
  %EMAILADDRESS% login) with the local CA as the only trust anchor.
- Outlook autodiscover: Thunderbird's own POST body, a well-formed answer
  with one Protocol per listener, an Error for a domain not served.
- The Apple .mobileconfig loads with plistlib; the CLI prints the same
  documents (`devmail client-setup`, `devmail ca-cert`).
- The local CA: with ca.pem as the only CA, `openssl s_client
  -verify_return_error -verify_hostname` and curl without -k succeed on
  every TLS listener (STARTTLS on SMTP/IMAP/POP3, the implicit-TLS ones,
  HTTPS); the old self-signed certificate is replaced; a configured
  certificate still wins.
"""
import base64
import imaplib
import json
import os
import plistlib
import poplib
import smtplib
import ssl
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from harness import BIN, Devmail, free_port, wait_for
from test_http_api import Api

PASSDB = "alice@example.org:{PLAIN}secret\nbob@example.com:{PLAIN}hunter2\n"
ALL = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "http", "https")
TB_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0"
# what Thunderbird's ExchangeAutoDiscover posts
AUTODISCOVER_BODY = """<?xml version="1.0" encoding="utf-8"?>
    <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
      <Request>
        <EMailAddress>%s</EMailAddress>
        <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
      </Request>
    </Autodiscover>"""
AD = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
ADO = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


def http(port, method, path, body=None, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, method=method,
                                 headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def read_like_thunderbird(xml_bytes):
    """What Thunderbird's readFromXML takes from a clientConfig: the first
    emailProvider, its domains, and every incoming/outgoing server with
    the fields it requires (it throws without them)."""
    root = ET.fromstring(xml_bytes)
    assert root.tag == "clientConfig" and root.get("version") == "1.1", root.tag
    prov = root.find("emailProvider")
    out = {"id": prov.get("id"), "domains": [d.text for d in prov.findall("domain")],
           "providers": [p.get("id") for p in root.findall("emailProvider")], "incoming": [], "outgoing": []}
    for kind, tag in (("incoming", "incomingServer"), ("outgoing", "outgoingServer")):
        for s in prov.findall(tag):
            entry = {"type": s.get("type"), "hostname": s.findtext("hostname"), "port": int(s.findtext("port")),
                     "socketType": s.findtext("socketType"), "username": s.findtext("username"),
                     "authentication": [a.text for a in s.findall("authentication")]}
            assert entry["socketType"] in ("plain", "SSL", "STARTTLS"), entry
            assert entry["authentication"], entry
            out[kind].append(entry)
    return out


def expected_servers(dm, smtp_auth):
    p = dm.ports
    pw = ["password-cleartext"]
    inc = [("imap", p["imaps"], "SSL"), ("imap", p["imap"], "STARTTLS"), ("pop3", p["pop3s"], "SSL"),
           ("pop3", p["pop3"], "STARTTLS")]
    out = [("smtp", p["smtps"], "SSL"), ("smtp", p["smtp"], "STARTTLS")]
    incoming = [{"type": t, "hostname": "127.0.0.1", "port": port, "socketType": st, "username": "%EMAILADDRESS%",
                 "authentication": pw} for t, port, st in inc]
    outgoing = [{"type": t, "hostname": "127.0.0.1", "port": port, "socketType": st,
                 "username": "%EMAILADDRESS%" if smtp_auth else None,
                 "authentication": pw if smtp_auth else ["none"]} for t, port, st in out]
    return incoming, outgoing


def ca_context(ca_path):
    """A client context whose only trust anchor is devmail's CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ca_path)
    return ctx


class ClientSetup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ac_port, cls.ac_tls_port = free_port(), free_port()
        cls.dm = Devmail(domains=["example.com", "example.org"], passdb=PASSDB, listen=ALL,
                         args=["--autoconfig-listen", "127.0.0.1:%d" % cls.ac_port,
                               "--autoconfig-tls-listen", "127.0.0.1:%d" % cls.ac_tls_port,
                               "--smtp-auth", "optional"]).__enter__()
        cls.ca = os.path.join(cls.dm.data_dir, "tls", "ca.pem")

    @classmethod
    def tearDownClass(cls):
        cls.dm.__exit__(None, None, None)

    def autoconfig(self, port, path, address, host):
        st, h, body = http(port, "GET", "%s?emailaddress=%s" % (path, address),
                           headers={"Host": host, "User-Agent": TB_UA})
        self.assertEqual(st, 200, body)
        self.assertTrue(h["Content-Type"].startswith("text/xml"), h["Content-Type"])
        return body

    def test_autoconfig_matches_listeners(self):
        # HTTP auth is on (passdb): the API refuses, autoconfig answers
        self.assertEqual(http(self.dm.ports["http"], "GET", "/api/v1/messages")[0], 401)
        incoming, outgoing = expected_servers(self.dm, smtp_auth=True)
        for port, path, host in ((self.dm.ports["http"], "/mail/config-v1.1.xml", "autoconfig.example.org"),
                                 (self.dm.ports["http"], "/.well-known/autoconfig/mail/config-v1.1.xml",
                                  "example.org"),
                                 (self.ac_port, "/mail/config-v1.1.xml", "autoconfig.example.org")):
            cfg = read_like_thunderbird(self.autoconfig(port, path, "alice%40example.org", host))
            self.assertEqual(cfg["id"], "example.org")  # the address's domain first
            self.assertEqual(cfg["domains"], ["example.org"])
            self.assertEqual(cfg["providers"], ["example.org", "example.com"])
            self.assertEqual(cfg["incoming"], incoming)
            self.assertEqual(cfg["outgoing"], outgoing)
        # the other domain first for its users
        cfg = read_like_thunderbird(self.autoconfig(self.ac_port, "/mail/config-v1.1.xml", "bob@example.com",
                                                    "autoconfig.example.com"))
        self.assertEqual(cfg["providers"], ["example.com", "example.org"])

    def test_autoconfig_servers_work_as_described(self):
        """Log in to every advertised server exactly as the document says,
        trusting only devmail's CA and checking the host name."""
        cfg = read_like_thunderbird(self.autoconfig(self.dm.ports["http"], "/mail/config-v1.1.xml",
                                                    "alice@example.org", "autoconfig.example.org"))
        ctx = ca_context(self.ca)
        user = cfg["incoming"][0]["username"].replace("%EMAILADDRESS%", "alice@example.org")
        for s in cfg["incoming"]:
            if s["type"] == "imap":
                if s["socketType"] == "SSL":
                    m = imaplib.IMAP4_SSL(s["hostname"], s["port"], ssl_context=ctx, timeout=10)
                else:
                    m = imaplib.IMAP4(s["hostname"], s["port"], timeout=10)
                    m.starttls(ssl_context=ctx)
                self.assertEqual(m.login(user, "secret")[0], "OK")
                m.logout()
            else:
                if s["socketType"] == "SSL":
                    p = poplib.POP3_SSL(s["hostname"], s["port"], context=ctx, timeout=10)
                else:
                    p = poplib.POP3(s["hostname"], s["port"], timeout=10)
                    p.stls(context=ctx)
                p.user(user)
                self.assertTrue(p.pass_("secret").startswith(b"+OK"))
                p.quit()
        for s in cfg["outgoing"]:
            if s["socketType"] == "SSL":
                c = smtplib.SMTP_SSL(s["hostname"], s["port"], context=ctx, timeout=10)
            else:
                c = smtplib.SMTP(s["hostname"], s["port"], timeout=10)
                c.starttls(context=ctx)
            self.assertEqual(s["authentication"], ["password-cleartext"])
            c.login(user, "secret")
            c.sendmail("alice@example.org", ["bob@example.com"], b"Subject: via %d\r\n\r\nhi\r\n" % s["port"])
            c.quit()
        self.assertEqual(len(self.dm.read_messages("bob@example.com")), 2)
        # without the CA the same connection is refused: the trust comes from it
        with self.assertRaises(ssl.SSLCertVerificationError):
            imaplib.IMAP4_SSL("127.0.0.1", self.dm.ports["imaps"], ssl_context=ssl.create_default_context(),
                              timeout=10)

    def test_autoconfig_guard_and_errors(self):
        http_port = self.dm.ports["http"]
        # a browser under a foreign name is still refused everywhere else
        st, _, _ = http(http_port, "GET", "/api/v1/messages", headers={"Host": "autoconfig.example.org",
                                                                        "User-Agent": TB_UA})
        self.assertEqual(st, 421)
        # the autoconfig listener serves nothing else
        st, _, body = http(self.ac_port, "GET", "/api/v1/messages")
        self.assertEqual(st, 404, body)
        self.assertEqual(http(self.ac_port, "GET", "/")[0], 404)
        self.assertEqual(http(http_port, "GET", "/mail/config-v1.1.xml?emailaddress=not-an-address")[0], 400)
        self.assertEqual(http(http_port, "POST", "/mail/config-v1.1.xml", b"x")[0], 405)
        # without an address: every domain, no login needed either
        cfg = read_like_thunderbird(http(self.ac_port, "GET", "/mail/config-v1.1.xml")[2])
        self.assertEqual(cfg["providers"], ["example.com", "example.org"])

    def test_autoconfig_over_https(self):
        """https://autoconfig.<domain>/ (what Thunderbird asks first) on
        autoconfig_tls_listen: curl trusting only the local CA and checking
        the name gets the document; the listener serves nothing else."""
        ca = self.ca
        port = self.ac_tls_port
        for host, address in (("autoconfig.example.org", "alice@example.org"),
                              ("autoconfig.example.com", "bob@example.com")):
            r = subprocess.run(["curl", "-sS", "--cacert", ca, "--resolve", "%s:%d:127.0.0.1" % (host, port),
                                "-A", TB_UA, "-w", "\n%{http_code} %{content_type}",
                                "https://%s:%d/mail/config-v1.1.xml?emailaddress=%s" % (host, port, address)],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            body, _, status = r.stdout.rpartition("\n")
            self.assertTrue(status.startswith("200 text/xml"), status)
            cfg = read_like_thunderbird(body.encode())
            self.assertEqual(cfg["id"], address.split("@")[1])
        r = subprocess.run(["curl", "-sS", "--cacert", ca, "--resolve", "autoconfig.example.org:%d:127.0.0.1" % port,
                            "-o", "/dev/null", "-w", "%{http_code}",
                            "https://autoconfig.example.org:%d/api/v1/messages" % port],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (0, "404"), r.stderr)
        self.assertIn("SETUP  https://127.0.0.1:%d/" % port, self.dm.log_text())

    def test_autodiscover(self):
        for port, path in ((self.ac_port, "/autodiscover/autodiscover.xml"),
                           (self.dm.ports["http"], "/Autodiscover/Autodiscover.xml")):
            st, h, body = http(port, "POST", path, (AUTODISCOVER_BODY % "alice@example.org").encode(),
                               headers={"Content-Type": "text/xml; charset=utf-8", "User-Agent": TB_UA,
                                        "Host": "autodiscover.example.org",
                                        "Authorization": "Basic " + base64.b64encode(b"alice@example.org:x").decode()})
            self.assertEqual(st, 200, body)
            self.assertTrue(h["Content-Type"].startswith("text/xml"))
            root = ET.fromstring(body)
            self.assertEqual(root.tag, AD + "Autodiscover")
            account = root.find(ADO + "Response/" + ADO + "Account")
            self.assertEqual(account.findtext(ADO + "Action"), "settings")
            got = [(p.findtext(ADO + "Type"), p.findtext(ADO + "Server"), int(p.findtext(ADO + "Port")),
                    p.findtext(ADO + "Encryption"), p.findtext(ADO + "LoginName"))
                   for p in account.findall(ADO + "Protocol")]
            ports = self.dm.ports
            a = "alice@example.org"
            self.assertEqual(got, [("IMAP", "127.0.0.1", ports["imaps"], "SSL", a),
                                   ("IMAP", "127.0.0.1", ports["imap"], "TLS", a),
                                   ("POP3", "127.0.0.1", ports["pop3s"], "SSL", a),
                                   ("POP3", "127.0.0.1", ports["pop3"], "TLS", a),
                                   ("SMTP", "127.0.0.1", ports["smtps"], "SSL", a),
                                   ("SMTP", "127.0.0.1", ports["smtp"], "TLS", a)])
        # a domain not served, garbage: a well-formed Error
        for body in ((AUTODISCOVER_BODY % "x@elsewhere.example").encode(), b"<not xml"):
            st, _, answer = http(self.ac_port, "POST", "/autodiscover/autodiscover.xml", body,
                                 headers={"Content-Type": "text/xml"})
            self.assertEqual(st, 200)
            root = ET.fromstring(answer)
            self.assertEqual(root.find(AD + "Response/" + AD + "Error/" + AD + "ErrorCode").text, "600")
        self.assertEqual(http(self.ac_port, "GET", "/autodiscover/autodiscover.xml")[0], 405)

    def test_mobileconfig_and_cli(self):
        st, h, body = http(self.ac_port, "GET", "/client-setup/devmail.mobileconfig?emailaddress=alice@example.org",
                           headers={"User-Agent": "Mozilla/5.0 (iPhone)", "Host": "autoconfig.example.org"})
        self.assertEqual(st, 200, body)
        self.assertEqual(h["Content-Type"], "application/x-apple-aspen-config")
        profile = plistlib.loads(body)
        self.assertEqual(profile["PayloadType"], "Configuration")
        mail, root = profile["PayloadContent"]
        self.assertEqual(mail["PayloadType"], "com.apple.mail.managed")
        self.assertEqual(mail["EmailAddress"], "alice@example.org")
        self.assertEqual(mail["EmailAccountType"], "EmailTypeIMAP")
        self.assertEqual((mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"]),
                         ("127.0.0.1", self.dm.ports["imaps"]))
        self.assertEqual(mail["IncomingMailServerUsername"], "alice@example.org")
        self.assertEqual(mail["OutgoingMailServerPortNumber"], self.dm.ports["smtps"])
        self.assertEqual(mail["OutgoingMailServerAuthentication"], "EmailAuthPassword")
        self.assertTrue(mail["IncomingMailServerUseSSL"])
        self.assertEqual(root["PayloadType"], "com.apple.security.root")
        with open(self.ca) as f:
            ca_pem = f.read()
        self.assertEqual(root["PayloadContent"], ssl.PEM_cert_to_DER_cert(ca_pem))
        uuids = {profile["PayloadUUID"], mail["PayloadUUID"], root["PayloadUUID"]}
        self.assertEqual(len(uuids), 3)
        # the command line prints the very same documents
        args = [BIN] + self.dm.args[1:]
        cli = subprocess.run(args[:1] + ["client-setup", "alice@example.org", "--format", "mobileconfig"] + args[1:],
                             capture_output=True, timeout=30)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(cli.stdout, body)
        cli = subprocess.run(args[:1] + ["client-setup", "--format=thunderbird", "alice@example.org"] + args[1:],
                             capture_output=True, timeout=30)
        self.assertEqual(cli.stdout, http(self.ac_port, "GET", "/mail/config-v1.1.xml?emailaddress=alice@example.org")[2])
        text = subprocess.run(args[:1] + ["client-setup", "alice@example.org"] + args[1:], capture_output=True,
                              text=True, timeout=30).stdout
        self.assertIn("server 127.0.0.1  port %d  SSL/TLS  user alice@example.org" % self.dm.ports["imaps"], text)
        self.assertIn("server 127.0.0.1  port %d  STARTTLS" % self.dm.ports["smtp"], text)
        self.assertIn("/client-setup/devmail.mobileconfig?emailaddress=alice@example.org", text)
        # the same over HTTP, without the CA file's path (that page answers anyone)
        served = http(self.dm.ports["http"], "GET", "/client-setup?emailaddress=alice@example.org")[2].decode()
        ca_line = "  CA certificate: %s (devmail ca-cert prints it)\n" % self.ca
        self.assertIn(ca_line, text)
        self.assertEqual(served, text.replace(ca_line, ""))
        self.assertNotIn(self.dm.data_dir, served)
        # the CA: CLI, HTTP and the file agree; its key is private
        for cmd in (["ca-cert"], ["client-setup", "--ca"]):
            cli = subprocess.run(args[:1] + cmd + args[1:], capture_output=True, text=True, timeout=30)
            self.assertEqual(cli.returncode, 0, cli.stderr)
            self.assertEqual(cli.stdout, ca_pem)
        st, h, served = http(self.dm.ports["http"], "GET", "/client-setup/ca.crt")
        self.assertEqual((st, h["Content-Type"], served.decode()), (200, "application/x-x509-ca-cert", ca_pem))
        self.assertEqual(os.stat(os.path.join(self.dm.data_dir, "tls", "ca-key.pem")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.dm.data_dir, "tls", "key.pem")).st_mode & 0o777, 0o600)

    def test_settings_as_json(self):
        # the web page's "Connect a mail client" table reads this
        port = self.dm.ports["http"]
        st, h, body = http(port, "GET", "/client-setup.json?emailaddress=alice%40example.org")
        self.assertEqual(st, 200, body)
        self.assertTrue(h["Content-Type"].startswith("application/json"), h["Content-Type"])
        j = json.loads(body)
        self.assertEqual((j["Address"], j["AddressServed"], j["AnyPassword"]), ("alice@example.org", True, False))
        self.assertEqual(j["Domains"], ["example.org", "example.com"])
        incoming, outgoing = expected_servers(self.dm, smtp_auth=True)
        sec = {"SSL": "SSL/TLS", "STARTTLS": "STARTTLS"}
        want = [{"Protocol": s["type"].upper(), "Host": s["hostname"], "Port": s["port"],
                 "Security": sec[s["socketType"]], "Authentication": "normal password",
                 "UserName": "alice@example.org"} for s in incoming + outgoing]
        self.assertEqual(j["Servers"], want)
        self.assertIn("password in the passdb", j["Password"])
        dl = j["Downloads"]
        self.assertEqual(dl["Mobileconfig"], "/client-setup/devmail.mobileconfig?emailaddress=alice@example.org")
        self.assertEqual(http(port, "GET", dl["Mobileconfig"])[2],
                         http(port, "GET", "/client-setup/devmail.mobileconfig?emailaddress=alice@example.org")[2])
        with open(self.ca) as f:
            self.assertEqual(http(port, "GET", dl["CACertificate"])[2].decode(), f.read())
        self.assertEqual(http(port, "POST", dl["Autodiscover"], AUTODISCOVER_BODY.encode() % b"alice@example.org",
                              {"Content-Type": "text/xml"})[0], 200)
        self.assertEqual(http(port, "GET", dl["Autoconfig"])[0], 200)
        # also on autoconfig_listen, without an address: user name unknown
        j = json.loads(http(self.ac_port, "GET", "/client-setup.json")[2])
        self.assertIsNone(j["Address"])
        self.assertEqual(j["Downloads"]["Mobileconfig"], "/client-setup/devmail.mobileconfig")
        self.assertEqual({s["UserName"] for s in j["Servers"]}, {"your address (user@domain)"})
        # a bad address is refused as on the other routes
        st, _, body = http(port, "GET", "/client-setup.json?emailaddress=not-an-address")
        self.assertEqual(st, 400, body)
        self.assertEqual(http(port, "POST", "/client-setup.json", b"{}")[0], 405)
        # without IMAP/POP3 there is no profile and no autoconfig to offer
        with Devmail(listen=("smtp", "http")) as dm:
            j = json.loads(http(dm.ports["http"], "GET", "/client-setup.json")[2])
            self.assertEqual((j["Downloads"]["Mobileconfig"], j["Downloads"]["Autoconfig"]), (None, None))
            self.assertEqual([s["Protocol"] for s in j["Servers"]], ["SMTP"])

    def test_every_tls_listener_verifies_with_the_ca(self):
        p = self.dm.ports
        checks = [(p["smtp"], ["-starttls", "smtp"]), (p["imap"], ["-starttls", "imap"]),
                  (p["pop3"], ["-starttls", "pop3"]), (p["smtps"], []), (p["imaps"], []), (p["pop3s"], []),
                  (p["https"], [])]
        for port, extra in checks:
            for name in ("localhost", "imap.example.org"):
                r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-verify_return_error",
                                    "-verify_hostname", name, "-CAfile", self.ca, "-servername", name] + extra,
                                   input=b"", capture_output=True, timeout=20)
                self.assertEqual(r.returncode, 0, (port, name, r.stdout[-800:], r.stderr[-800:]))
                self.assertIn(b"Verify return code: 0 (ok)", r.stdout)
            # a name the certificate does not carry fails: the check is real
            r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-verify_return_error",
                                "-verify_hostname", "attacker.example", "-CAfile", self.ca] + extra,
                               input=b"", capture_output=True, timeout=20)
            self.assertNotEqual(r.returncode, 0, port)
        curl = ["curl", "-sS", "--max-time", "15", "--cacert", self.ca]
        with tempfile.NamedTemporaryFile("wb", suffix=".eml") as mail:
            mail.write(b"From: alice@example.org\r\nTo: bob@example.com\r\nSubject: curl\r\n\r\nhi\r\n")
            mail.flush()
            runs = [
                ["https://localhost:%d/livez" % p["https"]],
                ["https://127.0.0.1:%d/livez" % p["https"]],
                ["imaps://localhost:%d/INBOX" % p["imaps"], "-u", "alice@example.org:secret", "-X", "EXAMINE INBOX"],
                ["imap://localhost:%d/INBOX" % p["imap"], "--ssl-reqd", "-u", "alice@example.org:secret",
                 "-X", "EXAMINE INBOX"],
                ["pop3s://localhost:%d/" % p["pop3s"], "-u", "alice@example.org:secret"],
                ["pop3://localhost:%d/" % p["pop3"], "--ssl-reqd", "-u", "alice@example.org:secret"],
                ["smtps://localhost:%d" % p["smtps"], "--mail-from", "alice@example.org", "--mail-rcpt",
                 "bob@example.com", "-T", mail.name],
                ["smtp://localhost:%d" % p["smtp"], "--ssl-reqd", "--mail-from", "alice@example.org", "--mail-rcpt",
                 "bob@example.com", "-T", mail.name],
            ]
            for args in runs:
                r = subprocess.run(curl + args, capture_output=True, timeout=30)
                self.assertEqual(r.returncode, 0, (args, r.stderr))
            # the same without the CA: refused (exit 60, certificate problem)
            r = subprocess.run(["curl", "-sS", "--max-time", "15", "https://localhost:%d/livez" % p["https"]],
                               capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 60, r.stderr)


class CertificateLifecycle(unittest.TestCase):
    def test_old_self_signed_certificate_is_replaced(self):
        with tempfile.TemporaryDirectory(prefix="devmail-e2e-tls-") as tmp:
            data = os.path.join(tmp, "data")
            os.makedirs(os.path.join(data, "tls"), mode=0o700)
            # what earlier versions generated: self-signed, no CA
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-subj", "/O=devmail/CN=localhost", "-addext",
                            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1", "-days", "3650",
                            "-keyout", os.path.join(data, "tls", "key.pem"),
                            "-out", os.path.join(data, "tls", "cert.pem")], check=True, capture_output=True)
            with Devmail(data_dir=data, listen=("smtp", "imaps")) as dm:
                ca = os.path.join(data, "tls", "ca.pem")
                self.assertTrue(os.path.exists(ca))
                self.assertIn("not signed by the local CA", dm.log_text())
                r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % dm.ports["imaps"],
                                    "-verify_return_error", "-verify_hostname", "localhost", "-CAfile", ca],
                                   input=b"", capture_output=True, timeout=20)
                self.assertEqual(r.returncode, 0, r.stdout[-600:])
                with open(ca) as f:
                    first_ca = f.read()
            # the next start keeps CA and certificate
            with open(os.path.join(data, "tls", "cert.pem")) as f:
                cert = f.read()
            with Devmail(data_dir=data, listen=("smtp", "imaps")) as dm:
                self.assertNotIn("tls:", dm.log_text())
            with open(os.path.join(data, "tls", "cert.pem")) as f:
                self.assertEqual(f.read(), cert)
            with open(os.path.join(data, "tls", "ca.pem")) as f:
                self.assertEqual(f.read(), first_ca)

    def test_configured_certificate_wins(self):
        with tempfile.TemporaryDirectory(prefix="devmail-e2e-tls-") as tmp:
            cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-subj", "/CN=configured.example", "-days", "30", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            with Devmail(listen=("smtp", "imaps", "http"), args=["--tls-cert", cert, "--tls-key", key]) as dm:
                served = ssl.get_server_certificate(("127.0.0.1", dm.ports["imaps"]))
                with open(cert) as f:
                    self.assertEqual(ssl.PEM_cert_to_DER_cert(served), ssl.PEM_cert_to_DER_cert(f.read()))
                self.assertFalse(os.path.exists(os.path.join(dm.data_dir, "tls", "ca.pem")))
                st, _, body = http(dm.ports["http"], "GET", "/client-setup/ca.crt")
                self.assertEqual(st, 404)
                self.assertIn(b"tls_cert", body)
                r = subprocess.run([BIN, "ca-cert"] + dm.args[1:], capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 1)
                self.assertIn("tls_cert is configured", r.stderr)
                # the profile then has no root payload
                profile = plistlib.loads(http(dm.ports["http"], "GET", "/client-setup/devmail.mobileconfig")[2])
                self.assertEqual([p["PayloadType"] for p in profile["PayloadContent"]], ["com.apple.mail.managed"])

    def test_ca_cert_before_first_start(self):
        """`devmail ca-cert` creates the CA, so it can be trusted before the
        server runs; the server then uses it."""
        with tempfile.TemporaryDirectory(prefix="devmail-e2e-tls-") as tmp:
            data = os.path.join(tmp, "data")
            r = subprocess.run([BIN, "ca-cert", "--data-dir", data], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("-----BEGIN CERTIFICATE-----"))
            with Devmail(data_dir=data, listen=("smtp", "smtps")) as dm:
                ctx = ca_context(os.path.join(data, "tls", "ca.pem"))
                with ssl.create_connection(("127.0.0.1", dm.ports["smtps"])) as raw, \
                        ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    self.assertTrue(s.recv(100).startswith(b"220 "))
                with open(os.path.join(data, "tls", "ca.pem")) as f:
                    self.assertEqual(f.read(), r.stdout)

    def test_ca_created_once_by_processes_starting_together(self):
        """Several `devmail ca-cert` started at once on a fresh data
        directory print one and the same CA, and the files on disk are that
        CA with its own key (without a lock each made its own and the files
        interleaved)."""
        for _ in range(3):
            with tempfile.TemporaryDirectory(prefix="devmail-e2e-tls-") as tmp:
                data = os.path.join(tmp, "data")
                procs = [subprocess.Popen([BIN, "ca-cert", "--data-dir", data], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for _ in range(6)]
                outs = []
                for p in procs:
                    out, err = p.communicate(timeout=60)
                    self.assertEqual(p.returncode, 0, err)
                    outs.append(out)
                self.assertEqual(len(set(outs)), 1, "the processes printed different CAs")
                tls = os.path.join(data, "tls")
                with open(os.path.join(tls, "ca.pem")) as f:
                    self.assertEqual(f.read(), outs[0])
                pub = [subprocess.run(cmd, capture_output=True, text=True, check=True).stdout for cmd in (
                    ["openssl", "x509", "-in", os.path.join(tls, "ca.pem"), "-noout", "-pubkey"],
                    ["openssl", "pkey", "-in", os.path.join(tls, "ca-key.pem"), "-pubout"])]
                self.assertEqual(pub[0], pub[1], "ca.pem and ca-key.pem do not belong together")
                v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(tls, "ca.pem"),
                                    os.path.join(tls, "cert.pem")], capture_output=True, text=True)
                self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


class Banner(unittest.TestCase):
    def test_banner_says_what_clients_need(self):
        with Devmail(domains=["example.com"], listen=("smtp",)) as dm:
            log = dm.log_text()
            self.assertIn("TLS    certificate signed by the local CA", log)
            self.assertIn("set autoconfig_listen = 127.0.0.1:80", log)

    @unittest.skipUnless(os.geteuid() == 0, "binding port 80 needs root")
    def test_banner_names_the_hosts_entry(self):
        # 127.0.0.2 is loopback too, and nothing else of the suite uses its port 80
        with Devmail(domains=["example.com", "dev.localhost"], listen=("smtp", "imap"),
                     args=["--autoconfig-listen", "127.0.0.2:80"]) as dm:
            # the banner is logged once every listener is open: wait for its last lines
            self.assertTrue(wait_for(lambda: "need no hosts entry" in dm.log_text(), timeout=30))
            log = dm.log_text()
            self.assertIn('add the hosts entry "127.0.0.2 autoconfig.example.com"', log)
            self.assertIn("addresses @dev.localhost need no hosts entry", log)
            st, _, body = http_host("127.0.0.2", 80, "/mail/config-v1.1.xml?emailaddress=a@dev.localhost")
            self.assertEqual(st, 200)
            self.assertEqual(read_like_thunderbird(body)["id"], "dev.localhost")


def http_host(host, port, path):
    with urllib.request.urlopen("http://%s:%d%s" % (host, port, path), timeout=15) as r:
        return r.status, r.headers, r.read()


if __name__ == "__main__":
    unittest.main()
