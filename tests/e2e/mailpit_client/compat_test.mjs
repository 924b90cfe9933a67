// The npm mailpit-api client against devmail, for what devmail answers
// like Mailpit beyond client_test.mjs: tag names with spaces, header
// names in Go's canonical case, Send API errors. Usage:
//   node compat_test.mjs http://127.0.0.1:PORT
// Prints "ok" and exits 0, or throws.
import assert from "node:assert/strict";
import { MailpitClient } from "mailpit-api";

const mailpit = new MailpitClient(process.argv[2]);

const sent = await mailpit.sendMessage({
  From: { Email: "app@example.test" },
  To: [{ Email: "user@example.test" }],
  Subject: "Tagged",
  Tags: ["Tag 1"],
});
assert.deepEqual(await mailpit.getTags(), ["Tag 1"]);
assert.equal(await mailpit.setTags({ IDs: [sent.ID], Tags: ["Tag 1", "Second tag"] }), "ok");
assert.deepEqual((await mailpit.getMessageSummary(sent.ID)).Tags, ["Second tag", "Tag 1"]);
assert.equal(await mailpit.renameTag("Tag 1", "Tag One"), "ok");
assert.deepEqual(await mailpit.getTags(), ["Second tag", "Tag One"]);
assert.equal((await mailpit.searchMessages({ query: 'tag:"Tag One"' })).messages_count, 1);
assert.equal(await mailpit.deleteTag("Second tag"), "ok");
assert.deepEqual((await mailpit.getMessageSummary(sent.ID)).Tags, ["Tag One"]);

const headers = await mailpit.getMessageHeaders(sent.ID);
assert.ok(headers["Message-Id"], "Message-Id in Go's canonical case");
assert.deepEqual(headers["Mime-Version"], ["1.0"]);
assert.deepEqual(Object.keys(headers), Object.keys(headers).sort());
assert.equal((await mailpit.getMessageSummary(sent.ID)).Username, "");
await assert.rejects(
  mailpit.sendMessage({ From: { Email: "app@example.test" }, To: [{ Email: "u@example.test" }], Headers: { Subject: "x" } }),
  /400 Bad Request.*cannot overwrite header: \\"Subject\\"/,
);
console.log("ok");
