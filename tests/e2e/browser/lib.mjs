// Shared by the browser test scripts (*_test.mjs): named checks, steps
// whose exceptions become one failed check, and a tiny SMTP client.
// A script reports with report(t0): the last stdout line is one JSON
// object {ok, passed, failed, checks:[{name, ok, detail}], ms}, read by
// run_browser_script() in tests/e2e/test_web_browser.py; the exit status
// is 0 only when every check passed.
import net from 'node:net';

export const checks = [];

export function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail: ok ? '' : String(detail).slice(0, 600) });
  if (!ok) console.error(`FAIL ${name}: ${detail}`);
  return !!ok;
}

// A step: its exceptions become one failed check, later steps still run.
export async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    check(`${name} (step)`, false, err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err);
  }
}

// The result: one JSON line on stdout, exit status 0 only when every
// check passed (and there was one). t0: when the script started.
export function report(t0) {
  const failed = checks.filter((c) => !c.ok).length;
  console.log(JSON.stringify({ ok: failed === 0 && checks.length > 0, passed: checks.length - failed, failed, ms: Date.now() - t0, checks }));
  process.exit(failed === 0 ? 0 : 1);
}

// a waiter left behind by a failed step must not end the run without a result
process.on('unhandledRejection', (err) => check('unhandled rejection', false, err && err.message ? err.message : err));

// One SMTP session to 127.0.0.1:port delivering one message, or several
// (an array) in turn, each to every address of rcpts (one or an array).
// Every reply is awaited at most timeoutMs.
export async function smtpSend(port, helo, from, rcpts, messages, timeoutMs = 10000) {
  const sock = net.createConnection({ host: '127.0.0.1', port: Number(port) });
  let buf = '';
  let wake = null;
  let failure = null;
  sock.setEncoding('utf8');
  sock.on('data', (d) => { buf += d; if (wake) wake(); });
  sock.on('error', (e) => { failure = e; if (wake) wake(); });
  sock.on('close', () => { failure = failure || new Error('smtp connection closed'); if (wake) wake(); });
  const reply = async (want) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = buf.match(/^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/);
      if (m) {
        buf = buf.slice(m[0].length);
        if (Number(m[1]) !== want) throw new Error(`smtp: wanted ${want}, got ${m[0].trim()}`);
        return;
      }
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error(`smtp: no reply (wanted ${want})`);
      await new Promise((r) => { wake = r; setTimeout(r, 200); });
    }
  };
  const cmd = async (line, want) => { sock.write(line + '\r\n'); await reply(want); };
  try {
    await reply(220);
    await cmd(`EHLO ${helo}`, 250);
    for (const message of [].concat(messages)) {
      await cmd(`MAIL FROM:<${from}>`, 250);
      for (const r of [].concat(rcpts)) await cmd(`RCPT TO:<${r}>`, 250);
      await cmd('DATA', 354);
      const body = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
      sock.write(body.endsWith('\r\n') ? body : body + '\r\n');
      await cmd('.', 250);
    }
    await cmd('QUIT', 221);
  } finally {
    sock.destroy();
  }
}
