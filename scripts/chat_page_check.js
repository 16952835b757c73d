// Runs the chat page's script (examples/broadcast/index.html) in Node with a
// fake DOM and the `ws` package as WebSocket, against a broadcast node on
// Redis; kills the node (SIGKILL) and starts another on the same port while
// a second client keeps talking: the page must resume with no gap, nothing
// twice, keep its name, and show one status line.
//
// Usage: node scripts/chat_page_check.js target/release/examples/broadcast
// (needs redis-server, and scripts/interop/node_modules/ws: run
// scripts/interop.sh once, or npm install ws there). Prints what the page
// showed; not a CI step yet.
const fs = require("fs"), cp = require("child_process"), net = require("net");
const path = require("path");
// The `ws` package scripts/interop.sh installs.
const WebSocket = require(path.join(__dirname, "interop/node_modules/ws"));
// As in a browser: a failed connection is an error event, then a close.
global.WebSocket = class extends WebSocket { constructor(...a) { super(...a); this.on("error", () => {}); } };
const bin = process.argv[2], rport = 6390 + Math.floor(Math.random() * 100), port = 9480;
const redis = cp.spawn("redis-server", ["--port", String(rport), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
const node = () => cp.spawn(bin, ["127.0.0.1:" + port, "--redis", "redis://127.0.0.1:" + rport + "/", "--ping-interval", "0"], { stdio: "ignore" });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const els = {};
function el(id) { return els[id] || (els[id] = { id, textContent: "", className: "", value: "", disabled: false, children: [], scrollTop: 0, scrollHeight: 0,
  appendChild(c) { this.children.push(c); }, addEventListener(ev, f) { this["on" + ev] = f; } }); }
global.document = { getElementById: el, createElement: () => ({ textContent: "", className: "" }) };
global.location = { protocol: "http:", host: "127.0.0.1:" + port, hash: "#room=pg" };
const html = fs.readFileSync(path.join(__dirname, "../examples/broadcast/index.html"), "utf8");
const script = html.slice(html.indexOf("<script>") + 8, html.indexOf("</script>"));
(async () => {
  await sleep(300);
  let n = node();
  await sleep(800);
  new Function(script)();
  const shown = () => el("messages").children.map((c) => c.textContent);
  for (let i = 0; i < 50 && el("state").className !== "connected"; i++) await sleep(100);
  el("text").value = "hello from the page";
  el("form").onsubmit({ preventDefault() {} });
  await sleep(500);
  const other = new WebSocket("ws://127.0.0.1:" + port + "/room/pg");
  await new Promise((r) => other.on("open", r));
  let k = 0;
  const talk = setInterval(() => { if (other.readyState === 1) other.send("o#" + k++); }, 50);
  await sleep(500);
  const who = el("who").textContent;
  n.kill("SIGKILL");
  const states = new Set();
  const watch = setInterval(() => states.add(el("state").textContent), 20);
  await sleep(300);
  n = node();
  // The other client reconnects to the new node (plain: a new client).
  await sleep(1000);
  const other2 = new WebSocket("ws://127.0.0.1:" + port + "/room/pg");
  await new Promise((r) => other2.on("open", r));
  clearInterval(talk);
  for (let i = 0; i < 20; i++) { other2.send("p#" + i); await sleep(30); }
  el("text").value = "after the blip";
  el("form").onsubmit({ preventDefault() {} });
  await sleep(1500);
  clearInterval(watch);
  const lines = shown();
  const says = lines.filter((l) => / says: /.test(l));
  const dup = says.filter((l, i) => says.indexOf(l) !== i);
  const p = lines.filter((l) => / says: p#/.test(l)).map((l) => Number(l.split("#")[1]));
  console.log("page showed", lines.length, "lines;", says.length, "messages;", dup.length, "duplicates");
  console.log("who before:", JSON.stringify(who), "after:", JSON.stringify(el("who").textContent));
  console.log("p# lines in order:", JSON.stringify(p) === JSON.stringify([...Array(20).keys()]));
  console.log("own lines:", lines.filter((l) => /hello from the page|after the blip/.test(l)));
  console.log("notices:", lines.filter((l) => !/ says: /.test(l)));
  console.log("status seen:", [...states], "final:", el("state").textContent);
  n.kill("SIGKILL"); redis.kill("SIGKILL"); other.terminate(); other2.terminate();
  process.exit(0);
})();
