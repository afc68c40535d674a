// ollama-rag web page: POST /v1/ask with stream: true, read NDJSON events, render the answer and its sources.
"use strict";

const $ = (id) => document.getElementById(id);
const tokenBox = $("token");
tokenBox.value = localStorage.getItem("rag-token") || "";
tokenBox.addEventListener("change", () => localStorage.setItem("rag-token", tokenBox.value));

function headers() {
  const h = { "Content-Type": "application/json" };
  if (tokenBox.value) h["Authorization"] = "Bearer " + tokenBox.value;
  return h;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The chunk text with the quote marked: whitespace-insensitive, case-insensitive search; no HTML is ever parsed.
function highlighted(text, quote) {
  const box = el("blockquote", "chunk");
  const words = (quote || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) { box.textContent = text; return box; }
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const match = new RegExp(escaped.join("\\s+"), "i").exec(text);
  if (!match) { box.textContent = text; return box; }
  box.append(text.slice(0, match.index), el("mark", "", match[0]), text.slice(match.index + match[0].length));
  return box;
}

function pages(c) {
  if (c.page_start == null) return "";
  return c.page_end == null || c.page_end === c.page_start ? `p. ${c.page_start}` : `p. ${c.page_start}-${c.page_end}`;
}

async function chunkText(id, hits) {
  const hit = hits.find((h) => h.id === id);
  if (hit) return hit.text;
  const reply = await fetch(`/v1/chunks/${encodeURIComponent(id)}`, { headers: headers() });
  return reply.ok ? (await reply.json()).text : "";
}

async function renderSources(answer, hits) {
  const list = $("sources");
  list.replaceChildren();
  for (const c of answer.citations) {
    const item = el("li", "source");
    item.value = c.n;
    item.append(el("span", "where", [c.source, pages(c)].filter(Boolean).join(" ")));
    if (c.heading_path && c.heading_path.length) item.append(el("span", "heading", " § " + c.heading_path.join(" > ")));
    if (!c.verified) item.append(el("span", "unverified", " (quote not verified)"));
    item.append(highlighted(await chunkText(c.id, hits), c.quote));
    list.append(item);
  }
}

async function ask(question) {
  const state = $("state"), answerBox = $("answer");
  answerBox.textContent = "";
  $("sources").replaceChildren();
  state.textContent = "Searching…";
  $("ask").disabled = true;
  let hits = [];
  try {
    const reply = await fetch("/v1/ask", { method: "POST", headers: headers(), body: JSON.stringify({ question, stream: true }) });
    if (!reply.ok) {
      const body = await reply.json().catch(() => ({}));
      throw new Error(body.message || `HTTP ${reply.status}`);
    }
    const reader = reply.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, cut).trim();
        buffer = buffer.slice(cut + 1);
        if (!line) continue;
        const event = JSON.parse(line);
        if (event.type === "retrieval") { hits = event.hits; state.textContent = `${hits.length} passages found; answering…`; }
        else if (event.type === "delta") answerBox.textContent += event.text;
        else if (event.type === "answer") {
          answerBox.textContent = event.answer.answer;
          const mode = event.answer.mode === "extractive" ? " (extractive: quoted from the sources)" : "";
          state.textContent = (event.answer.answerable ? "Answered" : "Not found in the documents") + mode;
          await renderSources(event.answer, hits);
        } else if (event.type === "error") throw new Error(event.message);
      }
    }
  } catch (err) {
    state.textContent = "Error: " + err.message;
  } finally {
    $("ask").disabled = false;
  }
}

$("ask-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = $("question").value.trim();
  if (q) ask(q);
});
