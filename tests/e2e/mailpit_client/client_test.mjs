// The npm mailpit-api client against devmail: list, get, search, delete,
// raw (and send, read status, tags, HTML/text views). Usage:
//   node client_test.mjs http://127.0.0.1:PORT
// Prints "ok" and exits 0, or throws.
import assert from "node:assert/strict";
import { MailpitClient } from "mailpit-api";

const mailpit = new MailpitClient(process.argv[2]);

const sent = await mailpit.sendMessage({
  From: { Email: "app@example.test", Name: "App" },
  To: [{ Email: "user@example.test", Name: "User" }],
  Subject: "Reset your password",
  Text: "Open https://app.example.test/reset?token=abc123 to continue",
  HTML: "<p>Open <a href=\"https://app.example.test/reset?token=abc123\">this link</a></p>",
  Attachments: [{ Content: Buffer.from("hello").toString("base64"), Filename: "hello.txt", ContentType: "text/plain" }],
  Tags: ["reset"],
});
assert.ok(sent.ID);

const list = await mailpit.listMessages();
for (const k of ["total", "unread", "count", "messages_count", "start", "tags", "messages"]) assert.ok(k in list, k);
assert.ok(list.total >= 2);
const smtpMsg = list.messages.find((m) => m.Subject === "From SMTP");
assert.ok(smtpMsg, "the SMTP message is listed");
assert.equal(smtpMsg.From.Address, "smtp@example.test");
assert.deepEqual(list.tags, ["reset"]);

const msg = await mailpit.getMessageSummary(sent.ID);
assert.equal(msg.Subject, "Reset your password");
assert.match(msg.Text, /token=abc123/);
assert.match(msg.HTML, /this link/);
assert.equal(msg.Attachments.length, 1);
assert.equal(msg.Attachments[0].FileName, "hello.txt");
const latest = await mailpit.getMessageSummary();
assert.ok(latest.ID);

const headers = await mailpit.getMessageHeaders(sent.ID);
assert.deepEqual(headers.Subject, ["Reset your password"]);

const raw = await mailpit.getMessageSource(sent.ID);
assert.match(raw, /Subject: Reset your password/);

const found = await mailpit.searchMessages({ query: "subject:reset" });
assert.equal(found.messages_count, 1);
assert.equal(found.messages[0].ID, sent.ID);
const waited = await mailpit.waitForMessage({ query: "from:smtp@example.test" }, { timeout: 3000 });
assert.equal(waited.Subject, "From SMTP");

assert.equal(await mailpit.setReadStatus({ IDs: [sent.ID], Read: false }), "ok");
assert.equal((await mailpit.listMessages()).messages.find((m) => m.ID === sent.ID).Read, false);
assert.deepEqual(await mailpit.getTags(), ["reset"]);
assert.match(await mailpit.renderMessageText(sent.ID), /token=abc123/);
assert.match(await mailpit.renderMessageHTML(sent.ID), /this link/);

assert.equal(await mailpit.deleteMessagesBySearch({ query: "subject:reset" }), "ok");
assert.equal((await mailpit.searchMessages({ query: "subject:reset" })).messages_count, 0);
assert.equal(await mailpit.deleteMessages({ IDs: [smtpMsg.ID] }), "ok");
await mailpit.deleteMessages();
assert.equal((await mailpit.listMessages()).total, 0);
await assert.rejects(mailpit.getMessageSummary("no-such-id"), /404/);
console.log("ok");
