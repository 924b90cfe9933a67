"""SMTP failure injection (Mailpit's chaos): chaos_triggers makes MAIL
FROM, RCPT TO or AUTH fail with the configured code at the configured
probability, so an application's retry path can be tested; a bad trigger
refuses to start.
"""
import smtplib
import subprocess
import unittest

from harness import BIN, ROOT, Devmail, maildir_files


class ChaosSmtpTest(unittest.TestCase):
    def test_sender_and_recipient_triggers(self):
        dm = Devmail(listen=("smtp",), args=["--chaos-triggers", "sender:452:100"])
        with dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
                code, msg = c.mail("app@example.com")
                self.assertEqual((code, msg), (452, b"4.0.0 Chaos sender error"))
        dm = Devmail(listen=("smtp",), args=["--chaos-triggers", "recipient:550:100, sender:451:0"])
        with dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
                with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
                    c.sendmail("app@example.com", ["a@example.com"], "Subject: x\r\n\r\nx\r\n")
                self.assertEqual(e.exception.recipients["a@example.com"], (550, b"5.0.0 Chaos recipient error"))
            self.assertIn("chaos: RCPT TO:<a@example.com> answered 550", dm.log_text())

    def test_probability_is_honoured(self):
        dm = Devmail(listen=("smtp",), args=["--chaos-triggers", "recipient:451:50"])
        with dm:
            codes = []
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
                c.mail("app@example.com")
                for i in range(200):
                    codes.append(c.rcpt("r%d@example.com" % i)[0])
            failed = codes.count(451)
            self.assertEqual(failed + codes.count(250), 200)
            # 50 % of 200: outside 60..140 has a probability below 1e-8
            self.assertTrue(60 <= failed <= 140, failed)

    def test_authentication_trigger(self):
        dm = Devmail(listen=("smtp",), passdb="ann@example.com:{PLAIN}pw\n",
                     args=["--smtp-auth", "optional", "--chaos-triggers", "authentication:454:100"])
        with dm:
            with smtplib.SMTP("127.0.0.1", dm.smtp_port, timeout=15) as c:
                c.ehlo("x")
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    c.login("ann@example.com", "pw")
                self.assertEqual(e.exception.smtp_code, 454)
                # nothing else is affected: mail still goes through
                c.sendmail("app@example.com", ["a@example.com"], "Subject: y\r\n\r\ny\r\n")
            self.assertEqual(len(maildir_files(dm.maildir("catchall@localhost"))), 1)

    def test_bad_trigger_refuses_to_start(self):
        r = subprocess.run([BIN, "check-config", "--chaos-triggers", "sender:700:5"], cwd=ROOT, capture_output=True,
                           text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("chaos error code must be between 400 and 599", r.stderr)


if __name__ == "__main__":
    unittest.main()
