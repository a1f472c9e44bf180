// Read feed files with the Podcast Index's parser (podcast-partytime) and print its parse
// as JSON: one process for a whole batch, so a test pays Node's start-up once.
// Usage: node parse.mjs FILE...  ->  {"FILE": parse, ...}  (parse is null where partytime
// found no feed; a file it cannot parse at all becomes {"error": message}). partytime takes
// text, so decoding is the caller's job: as the XML declaration says, else UTF-8, as an app does.
import { readFileSync } from "node:fs";
import pt from "podcast-partytime";

function decode(bytes) {
  const head = bytes.subarray(0, 200).toString("latin1");
  const declared = /^<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']/.exec(head.replace(/^\uFEFF|^\xEF\xBB\xBF/, ""));
  return new TextDecoder(declared ? declared[1] : "utf-8").decode(bytes);
}

const out = {};
for (const file of process.argv.slice(2)) {
  try {
    out[file] = pt.parseFeed(decode(readFileSync(file)), { allowMissingGuid: true }) ?? null;
  } catch (error) {
    out[file] = { error: String(error) };
  }
}
process.stdout.write(JSON.stringify(out));
