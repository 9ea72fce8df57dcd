// Checks one report page and returns what is wrong (run by tests/docs/test_doc_browser.py).
// - every drawn element lies inside its <svg> (nothing clipped);
// - no two labels of one diagram overlap;
// - nothing is painted over a label (the element at a label's centre is the label);
// - every in-page link has a target.
(() => {
  const tol = 1.0;
  const out = {svgs: 0, texts: 0, outside: [], overlaps: [], covered: [], brokenLinks: [], protocols: []};
  const name = (svg) => svg.getAttribute('aria-label');
  const svgs = [...document.querySelectorAll('main svg')];
  for (const svg of svgs) {
    out.svgs++;
    const box = svg.getBoundingClientRect();
    for (const el of svg.querySelectorAll('text, line, rect, path, circle')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - tol || r.top < box.top - tol || r.right > box.right + tol || r.bottom > box.bottom + tol) {
        out.outside.push(`${name(svg)}: <${el.tagName}> ${(el.textContent || '').slice(0, 40)}`);
      }
    }
    const texts = [...svg.querySelectorAll('text')].map((t) => [t, t.getBoundingClientRect()]);
    out.texts += texts.length;
    texts.sort((a, b) => a[1].top - b[1].top);
    for (let i = 0; i < texts.length; i++) {
      const [ta, a] = texts[i];
      for (let j = i + 1; j < texts.length; j++) {
        const [tb, b] = texts[j];
        if (b.top >= a.bottom - tol) break;
        if (a.left < b.right - tol && b.left < a.right - tol) {
          out.overlaps.push(`${name(svg)}: "${ta.textContent}" / "${tb.textContent}"`);
        }
      }
    }
  }
  for (const t of document.querySelectorAll('main svg text')) {
    t.scrollIntoView({block: 'center', inline: 'center'});
    const r = t.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(hit === t || t.contains(hit))) {
      const what = hit ? `<${hit.tagName} class=${hit.getAttribute('class')}>` : 'nothing';
      out.covered.push(`${name(t.ownerSVGElement)}: "${t.textContent}" under ${what}`);
    }
  }
  window.scrollTo(0, 0);
  for (const a of document.querySelectorAll('a[href^="#"]')) {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    if (!document.getElementById(id)) out.brokenLinks.push(a.getAttribute('href'));
  }
  for (const section of document.querySelectorAll('section.protocol')) {
    out.protocols.push({
      name: section.querySelector('h2').textContent,
      sequence: section.querySelectorAll('svg.seq').length,
      roles: section.querySelectorAll('h4.role').length,
      machines: section.querySelectorAll('svg.fsm').length,
    });
  }
  return out;
})()
