// Appended to a copy of a preview page by tests/browser/chromium.py: it measures the page as
// Chromium laid it out and writes what it found, as JSON, into a hidden "inspection" element.
(function () {
  "use strict";
  const box = (e) => e.getBoundingClientRect();
  const shown = (e) => {
    const r = box(e);
    const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const text = (e) => (e ? e.textContent.replace(/\s+/g, " ").trim() : null);
  const all = (root, selector) => Array.from(root.querySelectorAll(selector));
  const name = (e) => e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");

  // 1. what the page shows
  const report = {
    title: document.title,
    scripts: all(document, "script").length,
    images: all(document, "img, picture, video, iframe, object, embed").length,
    injected: typeof window.__injected !== "undefined",
    threads: all(document, "section.thread").map((t) => ({
      event: t.dataset.event,
      state: t.dataset.state,
      status: t.dataset.status,
      title: text(t.querySelector(".topic-title")),
      posts: all(t, "article.post").map((p) => ({
        number: Number(p.dataset.number),
        shown: shown(p),
        drawn: p.dataset.drawn,
        author: text(p.querySelector(".author")),
        videoCards: all(p, ".video-card").filter(shown).map((v) => ({
          title: text(v.querySelector(".video-title")),
          url: (v.querySelector(".video-link a") || {}).href || null,
        })),
        captions: all(p, "figure.gallery li").filter(shown).map(text),
        sources: all(p, "section.background .source a").filter(shown).map((a) => ({ text: text(a), href: a.href })),
        excerptParagraphs: all(p, "section.background blockquote p").length,
        chips: all(p, ".fyi .mention").filter(shown).map(text),
        count: text(p.querySelector(".count")),
        warnings: all(p, ".warnings li").map(text),
        badges: all(p, ".post-head .badge").map(text),
        lines: all(p, ".post-body > p").map(text),
      })),
    })),
    cells: all(document, ".day-cell[data-day]").map((c) => ({
      day: c.dataset.day,
      state: c.dataset.state,
      shown: shown(c),
      background: getComputedStyle(c).backgroundColor,
      href: c.getAttribute("href"),
      text: text(c),
      width: box(c).width,
    })),
    legend: all(document, "[data-legend]").map((e) => ({ state: e.dataset.legend, background: getComputedStyle(e).backgroundColor })),
  };

  // 2. overflow: nothing wider than its box, nothing sticking out of its parent, no sideways
  // scrolling. Content a box scrolls on purpose (the excerpt's vertical scroll) is not
  // overflow; sideways scrolling anywhere is.
  const overflow = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    overflow.push({ element: "html", problem: `page is ${root.scrollWidth}px wide in a ${root.clientWidth}px window` });
  }
  for (const e of all(document.body, "*")) {
    if (e.id === "inspection" || e.tagName === "SCRIPT" || !shown(e)) continue;
    const s = getComputedStyle(e);
    if (s.display !== "inline" && e.scrollWidth > e.clientWidth + 1) {
      overflow.push({ element: name(e), problem: `content ${e.scrollWidth}px wide in a ${e.clientWidth}px box`, text: (text(e) || "").slice(0, 80) });
    }
    const parent = e.parentElement;
    if (parent && parent !== document.body && shown(parent)) {
      const r = box(e);
      const p = box(parent);
      if (r.right > p.right + 1 || r.left < p.left - 1) {
        overflow.push({ element: name(e), parent: name(parent), problem: `spans ${Math.round(r.left)}-${Math.round(r.right)}px, its parent ${Math.round(p.left)}-${Math.round(p.right)}px`, text: (text(e) || "").slice(0, 80) });
      }
    }
  }
  report.overflow = overflow;

  // 3. words broken across lines inside video cards and image captions: a line may end after
  // a hyphen, a dash or a slash ("prize-" / "winning"), never inside a word; a URL may wrap
  // (it is one "word" longer than a phone's line)
  const broken = [];
  for (const container of all(document, ".video-card, figure.gallery li")) {
    if (!shown(container)) continue;
    const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest(".video-link")) continue;
      const urls = Array.from(node.textContent.matchAll(/https?:\/\/\S+/g), (m) => [m.index, m.index + m[0].length]);
      for (const match of node.textContent.matchAll(/[^\s\-\u2010-\u2015\/]+/g)) {
        if (urls.some(([start, end]) => match.index >= start && match.index < end)) continue;
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push({ element: name(container), word: match[0] });
      }
    }
  }
  report.brokenWords = broken;
  report.viewport = root.clientWidth;
  report.checked = all(document.body, "*").length;

  const out = document.createElement("pre");
  out.id = "inspection";
  out.hidden = true;
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
  // loaded in a frame narrower than a window can be (a phone): the page around it keeps it
  if (window.parent !== window) window.parent.postMessage(out.textContent, "*");
})();
