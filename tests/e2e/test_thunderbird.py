"""The real Thunderbird sets up an account from an address and a password.

Debian's Thunderbird ESR runs headless on a fresh profile, driven over
Marionette. Its account hub (the "Add your email address" dialog a fresh
profile opens with) gets only "dev@tb.localhost" typed into the address
field and the password into the password field; every other value comes
from devmail: the hub's own discovery (autoconfig.tb.localhost, the
.well-known URL, Exchange autodiscover, ISPDB and MX, the last two pointed
at a closed port: no network) finds devmail's autoconfig on
autoconfig_listen = 127.0.0.1:80 without a hosts entry (Thunderbird
resolves *.localhost to loopback), shows the servers, logs in over TLS
and creates the account.

Then the message list shows a mail delivered over SMTP, and a mail
written in Thunderbird's compose window is sent through devmail and
arrives (its copy lands in Sent over IMAP). Without devmail's CA in the
profile the hub stops at the "Add Security Exception" dialog (counted and
cancelled here: the click issue 13 is about); with the CA imported by
`certutil`, as the README says, no dialog appears. Screenshots go to
build/test-output/screenshots/thunderbird-*.png.
"""
import base64
import json
import os
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, Devmail, free_port
from marionette import Marionette

TB = shutil.which("thunderbird")
CERTUTIL = shutil.which("certutil")
SHOTS = os.path.join(ROOT, "build", "test-output", "screenshots")
EMAIL, PASSWORD = "dev@tb.localhost", "s3cret-pw"
# Every wait below is bounded; the whole test takes 15-25 s.
SCRIPT_TIMEOUT_MS = 30000

PREFS = {
    # no network: the ISP database and the MX lookup fail at once
    "mailnews.auto_config_url": "http://127.0.0.1:1/ispdb/",
    "mailnews.mx_service_url": "http://127.0.0.1:1/mx/",
    "mail.shell.checkDefaultClient": False,
    "mailnews.start_page.enabled": False,
    "app.update.disabledForTesting": True,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "mail.setup.loglevel": "All",
}

# One step in the account hub dialog: optionally type a value into a
# visible field (as keystrokes would: focus, value, input event), click a
# visible enabled button, then wait for a visible element and return the
# text of the elements asked for. Security-exception dialogs that open
# meanwhile are counted and cancelled.
HUB_STEP = r"""
const resolve = arguments[arguments.length - 1];
const [step] = arguments;
const vis = el => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
if (!window.devmailCertDialogs) {
  window.devmailCertDialogs = { n: 0 };
  Services.ww.registerNotification((win, topic) => {
    if (topic != "domwindowopened") return;
    win.addEventListener("load", () => {
      if (win.location.href.includes("exceptionDialog")) {
        window.devmailCertDialogs.n++;
        win.close();
      }
    }, { once: true });
  });
}
const sleep = ms => new Promise(r => setTimeout(r, ms));
async function visible(sel, ms, stopOnCertDialog) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (stopOnCertDialog && window.devmailCertDialogs.n) {
      await sleep(1000); // the hub's answer to the cancelled dialog
      return null;
    }
    const hub = document.querySelector("account-hub-container");
    const el = hub && hub.modal && hub.modal.open && [...hub.modal.querySelectorAll(sel)].find(vis);
    if (el) return el;
    await sleep(100);
  }
  return null;
}
(async () => {
  const t0 = Date.now();
  if (step.type) {
    const el = await visible(step.type[0], 20000);
    if (!el) return resolve({ error: "no field " + step.type[0] });
    el.focus();
    el.value = step.type[1];
    el.dispatchEvent(new InputEvent("input", { bubbles: true, data: step.type[1], inputType: "insertText" }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }
  if (step.click) {
    let b;
    const t1 = Date.now();
    while (Date.now() - t1 < 10000 && !((b = await visible(step.click, 10000)) && !b.disabled)) await sleep(100);
    if (!b || b.disabled) return resolve({ error: "cannot click " + step.click });
    b.click();
  }
  const shown = step.waitFor ? await visible(step.waitFor, step.waitMs || 20000, step.stopOnCertDialog) : true;
  const text = {};
  for (const id of step.read || []) {
    const el = document.querySelector("account-hub-container").modal.querySelector("#" + id);
    text[id] = el ? el.textContent.trim() : null;
  }
  const accounts = MailServices.accounts.accounts.filter(a => a.incomingServer.type == "imap" ||
                                                          a.incomingServer.type == "pop3")
    .map(a => ({ key: a.key, email: a.defaultIdentity && a.defaultIdentity.email, host: a.incomingServer.hostName,
                 port: a.incomingServer.port }));
  resolve({ shown: !!shown, text, accounts, certDialogs: window.devmailCertDialogs.n, ms: Date.now() - t0 });
})().catch(e => resolve({ error: String(e) + "\\n" + e.stack }));
"""

# Show the account's Inbox in the 3-pane tab until a subject appears.
MESSAGE_LIST = r"""
const resolve = arguments[arguments.length - 1];
const [key, subject] = arguments;
const inbox = MailServices.accounts.getAccount(key).incomingServer.rootFolder
  .getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
const about3Pane = window.gTabmail.currentAbout3Pane;
about3Pane.displayFolder(inbox.URI);
const t0 = Date.now();
(async () => {
  while (Date.now() - t0 < 20000) {
    inbox.updateFolder(window.msgWindow);
    const view = about3Pane.gDBView, rows = [];
    for (let i = 0; view && i < view.rowCount; i++) rows.push(view.cellTextForColumn(i, "subjectCol"));
    if (rows.includes(subject)) return resolve({ rows, ms: Date.now() - t0 });
    await new Promise(r => setTimeout(r, 200));
  }
  resolve({ error: "the message list never showed it" });
})().catch(e => resolve({ error: String(e) }));
"""

# Open the compose window with recipient, subject and body, press Send.
COMPOSE_AND_SEND = r"""
const resolve = arguments[arguments.length - 1];
const [key, to, subject] = arguments;
const params = Cc["@mozilla.org/messengercompose/composeparams;1"].createInstance(Ci.nsIMsgComposeParams);
const fields = Cc["@mozilla.org/messengercompose/composefields;1"].createInstance(Ci.nsIMsgCompFields);
fields.to = to;
fields.subject = subject;
fields.body = "Written in Thunderbird.\r\n";
params.composeFields = fields;
params.identity = MailServices.accounts.getAccount(key).defaultIdentity;
params.format = Ci.nsIMsgCompFormat.PlainText;
params.type = Ci.nsIMsgCompType.New;
const t0 = Date.now();
Services.ww.registerNotification(function opened(win, topic) {
  if (topic != "domwindowopened") return;
  Services.ww.unregisterNotification(opened);
  win.addEventListener("compose-startup-done", () => {
    Services.obs.addObserver(function sent(s, t, msgId) {
      Services.obs.removeObserver(sent, "mail:composeSendSucceeded");
      resolve({ sent: msgId, ms: Date.now() - t0 });
    }, "mail:composeSendSucceeded");
    win.setTimeout(() => win.SendMessage().catch(e => resolve({ error: String(e) })), 300);
  }, { once: true });
});
MailServices.compose.OpenComposeWindowWithParams(null, params);
"""


@unittest.skipIf(TB is None or CERTUTIL is None, "thunderbird or certutil (libnss3-tools) not installed")
@unittest.skipUnless(os.geteuid() == 0, "autoconfig_listen on port 80 needs root")
class ThunderbirdSetup(unittest.TestCase):
    def start_thunderbird(self, profile):
        port = free_port()
        prefs = dict(PREFS, **{"marionette.port": port})
        with open(os.path.join(profile, "user.js"), "w") as f:
            for k, v in prefs.items():
                f.write("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)))
        log = open(os.path.join(profile, "thunderbird.log"), "ab")
        proc = subprocess.Popen([TB, "--headless", "--marionette", "-remote-allow-system-access", "--no-remote",
                                 "--profile", profile], stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, MOZ_HEADLESS="1"), start_new_session=True)
        log.close()
        try:
            m = Marionette(port, timeout=45, proc=proc)
            m.call("WebDriver:NewSession", {"capabilities": {}})
            m.call("Marionette:SetContext", {"value": "chrome"})
            m.call("WebDriver:SetTimeouts", {"script": SCRIPT_TIMEOUT_MS})
            m.call("WebDriver:SetWindowRect", {"width": 1280, "height": 800})
        except BaseException:
            self.stop_thunderbird(proc, None)
            raise
        return proc, m

    @staticmethod
    def stop_thunderbird(proc, m):
        if m is not None:
            m.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def screenshot(self, m, name):
        os.makedirs(SHOTS, exist_ok=True)
        png = base64.b64decode(m.call("WebDriver:TakeScreenshot", {"full": False})["value"])
        with open(os.path.join(SHOTS, "thunderbird-%s.png" % name), "wb") as f:
            f.write(png)

    @staticmethod
    def hub(m, **step):
        r = m.run_async(HUB_STEP, step)
        if "error" in r:
            raise AssertionError("account hub: %s" % r["error"])
        return r

    def new_profile(self, tmp, name, ca=None):
        profile = os.path.join(tmp, name)
        os.makedirs(profile)
        if ca:
            subprocess.run([CERTUTIL, "-N", "-d", "sql:" + profile, "--empty-password"], check=True)
            subprocess.run([CERTUTIL, "-A", "-d", "sql:" + profile, "-n", "devmail local CA", "-t", "C,,", "-i", ca],
                           check=True)
        return profile

    def test_account_from_address_and_password(self):
        t_start = time.time()
        args = ["--autoconfig-listen", "127.0.0.1:80", "--smtp-auth", "optional"]
        with Devmail(domains=["tb.localhost"], passdb="%s:{PLAIN}%s\n" % (EMAIL, PASSWORD),
                     listen=("smtp", "imap", "imaps", "http"), args=args) as dm, \
                tempfile.TemporaryDirectory(prefix="devmail-tb-") as tmp:
            ca = os.path.join(dm.data_dir, "tls", "ca.pem")

            # 1. a profile that does not trust devmail's CA: the certificate stops it
            proc, m = self.start_thunderbird(self.new_profile(tmp, "untrusted"))
            try:
                self.hub(m, type=["#email", EMAIL], click="#forward", waitFor="#incomingHost")
                self.hub(m, click="#forward", waitFor="input[type=password]")
                r = self.hub(m, type=["input[type=password]", PASSWORD], click="#forward",
                             waitFor="email-added-success", waitMs=15000, stopOnCertDialog=True)
                self.screenshot(m, "untrusted")
            finally:
                self.stop_thunderbird(proc, m)
            self.assertEqual(r["certDialogs"], 1, r)  # the "Add Security Exception" click
            self.assertFalse(r["shown"], r)
            self.assertEqual(r["accounts"], [], r)

            # 2. the CA imported with certutil: address and password are all there is to type
            proc, m = self.start_thunderbird(self.new_profile(tmp, "trusted", ca=ca))
            try:
                self.screenshot(m, "1-address")
                found = ["incomingType", "incomingHost", "incomingPort", "incomingSocketType", "incomingUsername",
                         "incomingAuthenticationType", "outgoingType", "outgoingHost", "outgoingPort",
                         "outgoingSocketType", "outgoingUsername", "outgoingAuthenticationType"]
                r = self.hub(m, type=["#email", EMAIL], click="#forward", waitFor="#incomingHost", read=found)
                self.assertTrue(r["shown"], r)
                # from the Continue click to the servers on screen: the whole discovery
                print("\nthunderbird: settings found and shown %d ms after Continue" % r["ms"])
                # the servers Thunderbird found, as its dialog shows them
                self.assertEqual(r["text"], {
                    "incomingType": "imap", "incomingHost": "127.0.0.1", "incomingPort": str(dm.ports["imaps"]),
                    "incomingSocketType": "SSL/TLS", "incomingUsername": EMAIL,
                    "incomingAuthenticationType": "Normal Password",
                    "outgoingType": "smtp", "outgoingHost": "127.0.0.1", "outgoingPort": str(dm.ports["smtp"]),
                    "outgoingSocketType": "STARTTLS", "outgoingUsername": EMAIL,
                    "outgoingAuthenticationType": "Normal Password"}, r)
                self.screenshot(m, "2-config-found")
                self.hub(m, click="#forward", waitFor="input[type=password]")
                r = self.hub(m, type=["input[type=password]", PASSWORD], click="#forward",
                             waitFor="email-added-success")
                self.assertTrue(r["shown"], r)
                self.assertEqual(r["certDialogs"], 0, r)
                self.screenshot(m, "3-account-added")
                self.assertEqual(len(r["accounts"]), 1, r)
                self.assertEqual(r["accounts"][0]["email"], EMAIL)
                key = r["accounts"][0]["key"]
                self.hub(m, click="#forward")  # Finish

                # mail delivered over SMTP shows in the message list
                with smtplib.SMTP("127.0.0.1", dm.ports["smtp"], timeout=10) as s:
                    s.sendmail("app@example.org", [EMAIL], b"From: app@example.org\r\nTo: dev@tb.localhost\r\n"
                                                           b"Subject: Welcome from the app\r\n\r\nHello.\r\n")
                r = m.run_async(MESSAGE_LIST, key, "Welcome from the app")
                self.assertNotIn("error", r, r)
                self.screenshot(m, "4-message-list")

                # a mail written in Thunderbird goes out through devmail
                r = m.run_async(COMPOSE_AND_SEND, key, EMAIL, "Sent from Thunderbird")
                self.assertNotIn("error", r, r)
                deadline = time.time() + 10
                while time.time() < deadline:
                    got = [x for x in dm.read_messages(EMAIL) if b"Subject: Sent from Thunderbird" in x]
                    sent_copy = [os.path.join(d, n) for d in (os.path.join(dm.maildir(EMAIL, "Sent"), "cur"),
                                                            os.path.join(dm.maildir(EMAIL, "Sent"), "new"))
                                 if os.path.isdir(d) for n in os.listdir(d)]
                    if got and sent_copy:
                        break
                    time.sleep(0.2)
                self.assertEqual(len(got), 1, "the mail sent from Thunderbird did not arrive")
                self.assertRegex(got[0], rb"\nFrom: [^\n]*<dev@tb\.localhost>\n")
                self.assertIn(b"User-Agent: Mozilla Thunderbird", got[0])
                self.assertTrue(sent_copy, "no copy in Sent")
                r = m.run_async(MESSAGE_LIST, key, "Sent from Thunderbird")
                self.assertNotIn("error", r, r)
                self.screenshot(m, "5-after-send")
            finally:
                self.stop_thunderbird(proc, m)
        self.assertLess(time.time() - t_start, 90)


if __name__ == "__main__":
    unittest.main()
